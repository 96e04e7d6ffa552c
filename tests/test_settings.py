"""Production start-up refuses missing or invalid settings, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.live import ROOT

GOOD = {"DEBUG": "0", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "videos.example.com"}


def start(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "VIDEOGEN_TESTING"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_start() -> None:
    result = start(**GOOD)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"Q_WORKERS": "many"}, "Q_WORKERS"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
        ({"PUBLIC_BASE_URL": "videos.example.com"}, "PUBLIC_BASE_URL"),
        ({"SIGNUP_GRANT_USD": "free"}, "SIGNUP_GRANT_USD"),
        ({"S3_ADDRESSING_STYLE": "dns"}, "S3_ADDRESSING_STYLE"),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
        ({"SENTRY_DSN": "not a dsn"}, "SENTRY_DSN"),
        ({"SENTRY_TRACES_SAMPLE_RATE": "1.5"}, "SENTRY_TRACES_SAMPLE_RATE"),
        ({"GOOGLE_CLIENT_ID": "id-without-a-secret"}, "GOOGLE_CLIENT_SECRET"),
        ({"GITHUB_CLIENT_SECRET": "secret-without-an-id"}, "GITHUB_CLIENT_ID"),
        ({"TRUSTED_PROXY_COUNT": "two"}, "TRUSTED_PROXY_COUNT"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(override: dict[str, str], variable: str) -> None:
    result = start(**{**GOOD, **override})
    assert result.returncode != 0
    assert variable in result.stderr


def test_a_fresh_checkout_starts_on_the_embedded_defaults(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "DEBUG"}, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
