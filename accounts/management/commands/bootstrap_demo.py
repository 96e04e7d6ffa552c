"""First-run setup for the embedded quickstart: a demo customer (verified email, workspace, API key).

The demo login is a customer, not an operator: operators are made with
`manage.py create_operator` and must enrol two-factor authentication.
"""

from __future__ import annotations

import re
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
                # The links follow this run's address (HOST and PORT may differ from the first run's).
                self.stdout.write(re.sub(r"https?://[^/\s]+", base, saved.read_text()))
            self.stdout.write("Create more API keys at /api-keys/ after logging in.")
            return
        password = secrets.token_urlsafe(12)
        user = services.user_signup(email=DEMO_EMAIL, password=password, name="Demo")
        services.user_email_confirm(user=user)
        organization = user.memberships.get().organization
        _, raw = services.api_key_create(organization=organization, name="demo key", created_by=user)
        text = (
            f"Web app:  {base}/login/  as {DEMO_EMAIL} / {password}\n"
            f"Admin:    python manage.py create_operator --email you@example.com  (then enrol two-factor)\n"
            f"API key:  {raw}\n"
            f'Try:      curl -H "Authorization: Bearer {raw}" {base}/api/v1/me\n'
        )
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(text)
        saved.chmod(0o600)
        self.stdout.write(text)
