"""Google and GitHub sign-in are off until their client id and secret are set, then offered on the pages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.live import ROOT

PAGE = """
import django, re
django.setup()
from django.test import Client
for path in ("/accounts/login/", "/accounts/signup/"):
    page = Client().get(path).content.decode()
    print(path, sorted(re.findall(r'>Continue with (\\w+)<', page)))
"""


def offered(tmp_path: Path, **env: str) -> str:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "GITHUB_", "DATABASE_URL"))},
        "DEBUG": "1",
        "VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "videogen.settings",
        **env,
    }
    run = {"cwd": ROOT, "env": environment, "capture_output": True, "text": True, "timeout": 120}
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], **run)
    assert migrated.returncode == 0, migrated.stderr
    result = subprocess.run([sys.executable, "-c", PAGE], **run)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_no_third_party_sign_in_is_offered_by_default(tmp_path: Path) -> None:
    assert offered(tmp_path) == "/accounts/login/ []\n/accounts/signup/ []\n"


def test_google_and_github_are_offered_once_configured(tmp_path: Path) -> None:
    printed = offered(
        tmp_path,
        GOOGLE_CLIENT_ID="google-id",
        GOOGLE_CLIENT_SECRET="google-secret",
        GITHUB_CLIENT_ID="github-id",
        GITHUB_CLIENT_SECRET="github-secret",
    )
    assert printed == "/accounts/login/ ['GitHub', 'Google']\n/accounts/signup/ ['GitHub', 'Google']\n"
