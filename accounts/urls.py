from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views
from accounts.forms import LoginForm

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html", email_template_name="accounts/password_reset_email.txt"
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name="accounts/password_reset_confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("org/new/", views.organization_create, name="org-create"),
    path("org/switch/", views.organization_switch, name="org-switch"),
    path("org/settings/", views.organization_settings, name="org-settings"),
    path("org/members/", views.members, name="members"),
    path("org/members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path("org/members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
    path("org/invitations/<str:public_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/<str:public_id>/revoke/", views.api_key_revoke, name="api-key-revoke"),
]
