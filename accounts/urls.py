from __future__ import annotations

from django.urls import include, path
from django.views.generic.base import RedirectView

from accounts import views

urlpatterns = [
    # Sign-up, log-in, email, password, two-factor and sessions: django-allauth's pages in our look.
    path("accounts/", include("allauth.urls")),
    path("account/", views.account, name="account"),
    path("account/delete/", views.account_delete, name="account-delete"),
    # The short addresses links and bookmarks use.
    path("login/", RedirectView.as_view(pattern_name="account_login", query_string=True), name="login"),
    path("signup/", RedirectView.as_view(pattern_name="account_signup", query_string=True), name="signup"),
    path("org/new/", views.organization_create, name="org-create"),
    path("org/switch/", views.organization_switch, name="org-switch"),
    path("org/settings/", views.organization_settings, name="org-settings"),
    path("org/delete/", views.organization_delete, name="org-delete"),
    path("org/members/", views.members, name="members"),
    path("org/members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path("org/members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
    path("org/invitations/", views.invitation_create, name="invitation-create"),
    path("org/invitations/<str:public_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<str:public_id>/revoke/", views.api_key_revoke, name="api-key-revoke"),
]
