"""First-run setup for the embedded quickstart: a demo user, organization and API key."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts import services
from accounts.models import User

DEMO_EMAIL = "demo@example.com"


def _credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-login.txt"


class Command(BaseCommand):
    help = "Create the demo login and API key on first run; later runs repeat how to log in."

    def handle(self, *args: Any, **options: Any) -> None:
        base = settings.PUBLIC_BASE_URL
        saved = _credentials_file()
        if User.objects.filter(email=DEMO_EMAIL).exists():
            if saved.exists():
                self.stdout.write(saved.read_text())
            self.stdout.write("Create more API keys at /api-keys/ after logging in.")
            return
        password = secrets.token_urlsafe(12)
        user = services.user_signup(email=DEMO_EMAIL, password=password, name="Demo")
        if not User.objects.filter(is_superuser=True).exists():
            User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
        organization = user.memberships.get().organization
        _, raw = services.api_key_create(organization=organization, name="demo key", created_by=user)
        text = (
            f"Web app:  {base}/login/  as {DEMO_EMAIL} / {password}  (also the admin at {base}/admin/)\n"
            f"API key:  {raw}\n"
            f'Try:      curl -H "Authorization: Bearer {raw}" {base}/api/v1/me\n'
        )
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(text)
        saved.chmod(0o600)
        self.stdout.write(text)
