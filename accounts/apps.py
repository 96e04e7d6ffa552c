from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest

# Where the invitation page keeps the token of the invitation a visitor came with, so that sign-up
# knows they were invited (and to which address).
INVITATION_SESSION_KEY = "accounts_invitation"


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed, user_signed_up
        from django.contrib import admin
        from django.db.models.signals import post_delete, post_save, pre_delete

        from accounts import staff
        from accounts.models import ApiKey, Membership, Organization

        user_signed_up.connect(_signed_up, dispatch_uid="accounts-signed-up")
        # A cached key (accounts.services.api_key_authenticate) is forgotten when anything its answer rests on
        # changes, the admin's edits and deletions included.
        for model in (Membership, Organization):
            post_save.connect(_organization_keys_forget, sender=model, dispatch_uid=f"forget-keys-{model.__name__}")
            pre_delete.connect(_organization_keys_forget, sender=model, dispatch_uid=f"forget-keys-d-{model.__name__}")
        post_save.connect(_key_forget, sender=ApiKey, dispatch_uid="forget-key-saved")
        post_delete.connect(_key_forget, sender=ApiKey, dispatch_uid="forget-key-deleted")
        email_confirmed.connect(_email_confirmed, dispatch_uid="accounts-email-confirmed")
        # Staff reach the admin through our sign-in, with two-factor authentication (accounts/staff.py).
        admin.site.has_permission = staff.admin_has_permission  # type: ignore[method-assign]
        admin.site.login = staff.admin_login(admin.site.login)  # type: ignore[method-assign]


def _organization_keys_forget(sender: type, *, instance: Any, **kwargs: Any) -> None:
    from accounts import services
    from accounts.models import ApiKey, Organization

    organization_id = instance.pk if isinstance(instance, Organization) else instance.organization_id
    services.api_keys_forget(ApiKey.objects.filter(organization_id=organization_id))


def _key_forget(sender: type, *, instance: Any, created: bool = False, **kwargs: Any) -> None:
    from accounts import services

    if created:
        return  # a new secret: nothing can have cached it

    services.api_key_hash_forget(instance.key_hash)


def _signed_up(sender: object, *, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """After sign-up (the form, Google or GitHub): the person's workspace, and their credit if the address is proven."""
    from accounts import services

    invitation = None
    token = request.session.get(INVITATION_SESSION_KEY) if request is not None else None
    if token:
        try:
            invitation = services.invitation_for_token(token)
        except services.AccountError:
            invitation = None
    services.user_signup_finish(user=user, invitation=invitation)
    services.user_email_verified(user=user)


def _email_confirmed(sender: object, *, request: HttpRequest, email_address: Any, **kwargs: Any) -> None:
    from accounts import services

    services.user_email_verified(user=email_address.user)
