"""Shared fixtures: alice (owner of org A), bob (member of org A), carol (owner of org B)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import os
import secrets
import struct
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import encrypt
from django.apps import apps as django_apps
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Membership, Organization, Role, User
from outbox.models import Email, EmailStatus
from outbox.services import email_send

pytest_plugins = ["tests.emulators.fixtures"]

PASSWORD = "correct-horse-battery-staple"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if settings.IS_POSTGRES:
        return
    reason = "needs PostgreSQL (row locks, SKIP LOCKED, concurrent connections): set DATABASE_URL"
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def verified_user(email: str, name: str) -> User:
    """Someone who signed up and followed the link in their email: a workspace with the sign-up grant."""
    user = services.user_signup(email=email, password=PASSWORD, name=name)
    services.user_email_confirm(user=user)
    return user


def member_of(organization: Organization, email: str, role: str, name: str = "") -> User:
    """A verified person who joined `organization` with `role` (and has no workspace of their own)."""
    user = User.objects.create_user(email=email, password=PASSWORD, name=name)
    services.user_email_confirm(user=user)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def staff_user(email: str, **flags: bool) -> User:
    """An operator account the way create_operator makes one (verified address, staff)."""
    user = User.objects.create_user(email=email, password=PASSWORD, is_staff=True, **flags)
    services.user_email_confirm(user=user)
    return user


@pytest.fixture
def alice(db: None) -> User:
    return verified_user("alice@example.com", "Alice")


@pytest.fixture
def org_a(alice: User) -> Organization:
    return Membership.objects.get(user=alice).organization


@pytest.fixture
def bob(org_a: Organization) -> User:
    return member_of(org_a, "bob@example.com", Role.MEMBER, name="Bob")


@pytest.fixture
def carol(db: None) -> User:
    return verified_user("carol@example.com", "Carol")


@pytest.fixture
def org_b(carol: User) -> Organization:
    return Membership.objects.get(user=carol).organization


@pytest.fixture
def api_key_a(org_a: Organization, alice: User) -> tuple:
    return services.api_key_create(organization=org_a, name="alice's key", created_by=alice)


@pytest.fixture
def api_key_b(org_b: Organization, carol: User) -> tuple:
    return services.api_key_create(organization=org_b, name="carol's key", created_by=carol)


@pytest.fixture
def api_a(api_key_a: tuple) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_a[1]}")
    return client


@pytest.fixture
def api_b(api_key_b: tuple) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_b[1]}")
    return client


@pytest.fixture
def web_alice(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def web_bob(bob: User) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def web_carol(carol: User) -> Client:
    client = Client()
    client.force_login(carol)
    return client


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test writes media and sandbox renders into its own folder."""
    root = tmp_path_factory.mktemp("files")
    settings.MEDIA_ROOT = root / "media"
    settings.SANDBOX_DIR = root / "sandbox"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root / "media")},
        },
    }


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Hashing with the production hasher costs most of a second per sign-up."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _inline_poller(settings) -> None:
    """The poller works jobs inline, inside the test's transaction; concurrency tests raise this."""
    settings.POLL_CONCURRENCY = 1


def ensure_default_data() -> None:
    """Re-create what data migrations add (price rules, providers, routes, schedules).

    Transactional tests end with a flush that empties every table, migration
    data included; later tests would otherwise find no prices or routes.
    """
    prices = importlib.import_module("billing.migrations.0002_default_price_rules")
    providers = importlib.import_module("videogen.migrations.0002_default_providers_and_schedules")
    more_routes = importlib.import_module("videogen.migrations.0007_more_provider_routes")
    hailuo_23 = importlib.import_module("videogen.migrations.0013_hailuo_23")
    roles = importlib.import_module("videogen.migrations.0003_operator_roles")
    support_emails = importlib.import_module("outbox.migrations.0003_support_views_emails")
    from django.contrib.auth.models import Group

    from billing.models import PriceRule

    if not PriceRule.objects.exists():
        prices.add_rules(django_apps, None)
    providers.forwards(django_apps, None)
    more_routes.forwards(django_apps, None)
    hailuo_23.forwards(django_apps, None)
    if not Group.objects.filter(name="Support").exists():
        roles.forwards(django_apps, None)
        support_emails.forwards(django_apps, None)


@pytest.fixture(autouse=True)
def _default_data(request: pytest.FixtureRequest) -> None:
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    ensure_default_data()
    # The shared cache (sign-in rate limits, used one-time codes) is a database table, which the flush
    # after a transactional test leaves as it is.
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Limits are cached per organization id, and rolled-back tests reuse ids."""
    from api import ratelimit

    ratelimit.limits_cache_clear()


# --- Emails -------------------------------------------------------------------------------


def emails_to(address: str) -> list[EmailMessage]:
    """The emails sent to `address` through Django's email backend.

    Sign-in emails are sent at once; others (invitations) are recorded by the outbox, which this sends first,
    as a worker does after the commit.
    """
    for email_id in Email.objects.filter(status=EmailStatus.PENDING, attempt_count=0).values_list("pk", flat=True):
        email_send(email_id)
    return [message for message in mail.outbox if address in message.to]


# --- Two-factor authentication ---------------------------------------------------------


def totp_code(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code (SHA-1, 30 s, 6 digits) an authenticator app shows for a base32 secret."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def totp_enrol(user: User) -> str:
    """Give the user an authenticator app; returns its secret."""
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": encrypt(secret)})
    return secret


def mfa_login(user: User, password: str = PASSWORD) -> Client:
    """A browser session signed in the way staff must: password, then a code from the authenticator app."""
    secret = totp_enrol(user)
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": password})
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/", response
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()
    return client


@pytest.fixture
def admin_client(db: None) -> Client:
    """pytest-django's superuser client, signed in the way the admin requires (with an authenticator app)."""
    return mfa_login(staff_user("admin@example.com", is_superuser=True))


# --- Browser tests ------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; CI (REQUIRE_BROWSER=1) fails rather than skipping when it is missing."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)
