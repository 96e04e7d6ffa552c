from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from accounts.models import Role, User


class SignupForm(forms.Form):
    """What our sign-up form asks besides allauth's address and password."""

    name = forms.CharField(max_length=150, required=False, label="Your name")
    field_order = ["name", "email", "password1"]

    def signup(self, request: HttpRequest, user: User) -> None:
        user.name = self.cleaned_data["name"].strip()
        user.save(update_fields=["name"])


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=100, label="Organization name")


class OrganizationDeleteForm(forms.Form):
    confirm = forms.CharField(max_length=100, label="Type the organization's name to confirm")

    def __init__(self, *args: Any, organization_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization_name = organization_name

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.organization_name:
            raise forms.ValidationError(f"Type {self.organization_name} exactly to delete it.")
        return value


class AccountDeleteForm(forms.Form):
    confirm = forms.CharField(max_length=20, label="Type DELETE to confirm")

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != "DELETE":
            raise forms.ValidationError("Type DELETE, in capitals, to delete your account.")
        return value


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, label="Key name", help_text="For example: production server")
