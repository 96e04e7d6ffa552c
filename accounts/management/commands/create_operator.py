"""Make an operator: a staff account for the admin, which must enrol two-factor authentication to get in."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.forms import ValidationError

from accounts import services
from accounts.models import User

SUPPORT_GROUP = "Support"


class Command(BaseCommand):
    help = "Create a staff account for the admin (or make an existing account staff) and say how to enrol MFA."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="the operator's email address")
        parser.add_argument("--name", default="", help="the operator's name")
        parser.add_argument(
            "--superuser",
            action="store_true",
            help="every permission, prices included (otherwise the Support group: see everything, refund)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--email: {email!r} is not an email address.") from None
        support = None
        if not options["superuser"]:
            support = Group.objects.filter(name=SUPPORT_GROUP).first()
            if support is None:
                raise CommandError(f"The {SUPPORT_GROUP} group is missing: run `manage.py migrate` first.")
        password = None
        with transaction.atomic():
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                password = secrets.token_urlsafe(16)
                user = User.objects.create_user(email=email, password=password, name=options["name"].strip())
            user.is_staff = True
            user.is_superuser = options["superuser"]
            user.save(update_fields=["is_staff", "is_superuser"])
            if support is not None:
                user.groups.add(support)
            # The operator running the command vouches for the address.
            services.user_email_confirm(user=user)
        self.stdout.write(self._instructions(user, password))

    def _instructions(self, user: User, password: str | None) -> str:
        base = settings.PUBLIC_BASE_URL
        role = "superuser" if user.is_superuser else f"staff in the {SUPPORT_GROUP} group"
        login = f"password: {password}  (change it after your first sign-in)" if password else "existing password kept"
        return (
            f"Operator {user.email} ({role}), {login}\n"
            "\n"
            "The admin needs two-factor authentication. To enrol:\n"
            f"  1. Log in at {base}/accounts/login/\n"
            f"  2. Open {base}/admin/: you are sent to {base}/accounts/2fa/totp/activate/\n"
            "  3. Scan the QR code with an authenticator app (or type its secret), enter the 6-digit code,\n"
            "     and keep the recovery codes shown next somewhere safe.\n"
            f"  4. Open {base}/admin/ again and enter a code from the app.\n"
        )
