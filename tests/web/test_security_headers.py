"""Every response carries the Content-Security-Policy; no template runs inline script; HSTS in production."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.live import ROOT
from tests.web.conftest import generation_make

TEMPLATE_DIRS = [ROOT / "templates", *sorted(ROOT.glob("*/templates"))]
# A <script> tag with no src= attribute, an on...= event handler attribute, or a javascript: URL.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def inline_script_problems(text: str) -> list[str]:
    found = []
    for name, pattern in (
        ("inline <script>", INLINE_SCRIPT),
        ("on...= handler", EVENT_HANDLER),
        ("javascript: URL", JAVASCRIPT_URL),
    ):
        found += [f"{name}: {m.group(0)[:80]!r}" for m in pattern.finditer(text)]
    return found


def test_no_template_runs_inline_script() -> None:
    templates = [path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html")]
    assert len(templates) > 30
    problems = {str(p.relative_to(ROOT)): found for p in templates if (found := inline_script_problems(p.read_text()))}
    assert problems == {}


@pytest.mark.parametrize(
    ("html", "problems"),
    [
        ('<script src="/static/js/app.js" defer></script>', 0),
        ("<script>alert(1)</script>", 1),
        ('<script type="module">import x from "/x.js"</script>', 1),
        ('<form method="post"\n      onsubmit="return confirm(\'sure?\')">', 1),
        ('<button type="button" onClick="go()">', 1),
        ('<a href="javascript:void(0)">', 1),
        ('<p data-confirm="Delete this?">online</p>', 0),
    ],
)
def test_the_template_check_finds_inline_script(html: str, problems: int) -> None:
    assert len(inline_script_problems(html)) == problems


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and not re.search(r"[<>(^$\\]", route):
            yield "/" + route


def web_paths() -> list[str]:
    """Every path of the site that needs no parameter (pages, forms, API, admin)."""
    return sorted(set(_routes(get_resolver().url_patterns)))


@pytest.mark.django_db
def test_every_response_carries_the_content_security_policy(web_alice: Client, org_a: Any, alice: Any) -> None:
    job = generation_make(org_a, "a heron at dawn")
    paths = [*web_paths(), f"/generations/{job.public_id}/", "/no/such/page/"]
    assert {"/", "/dashboard/", "/generate/", "/billing/", "/webhooks/", "/api/docs"} <= set(paths)

    for path in paths:
        response = web_alice.get(path)
        assert response.status_code < 500, path
        policy = response.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy, path
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy, path
        scripts = re.search(r"script-src ([^;]*)", policy).group(1)
        if path in {"/api/docs", "/api/v1/docs"}:
            assert scripts == "'self' 'unsafe-inline'", path  # drf-spectacular's Swagger UI starts inline
        else:
            assert scripts == "'self'", path


@pytest.mark.django_db
def test_the_policy_lets_videos_come_from_the_links_we_sign(client: Client, settings: Any) -> None:
    settings.PUBLIC_BASE_URL = "https://videos.example.com"
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "media-src 'self' https://videos.example.com blob:" in policy
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {**settings.STORAGES, "default": {"OPTIONS": {"endpoint_url": "https://s3.example.net"}}}
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "https://s3.example.net https://*.s3.example.net" in re.search(r"media-src ([^;]*)", policy).group(1)


def production(script: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "VIDEOGEN_TESTING", "SECURE_COOKIES"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={**clean, "DEBUG": "0", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "videos.example.com", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


HSTS_OF_A_SECURE_REQUEST = """
from django.test import Client
response = Client(HTTP_HOST="videos.example.com").get("/healthz", secure=True)
print(response.headers.get("Strict-Transport-Security"))
"""


def test_production_over_https_sends_hsts_with_subdomains() -> None:
    assert production(HSTS_OF_A_SECURE_REQUEST) == "max-age=31536000; includeSubDomains"
    assert production(HSTS_OF_A_SECURE_REQUEST, SECURE_HSTS_SECONDS="600") == "max-age=600; includeSubDomains"
    assert production(HSTS_OF_A_SECURE_REQUEST, SECURE_COOKIES="0") == "None"


def test_static_scripts_exist_for_every_script_tag() -> None:
    sources = {
        m.group(1)
        for folder in TEMPLATE_DIRS
        for p in folder.rglob("*.html")
        for m in re.finditer(r"""<script[^>]*src="\{% static '([^']+)' %\}""", p.read_text())
    }
    assert sources, "no template loads a static script"
    missing = [s for s in sources if not (Path(settings.BASE_DIR) / "static" / s).is_file()]
    assert missing == []
