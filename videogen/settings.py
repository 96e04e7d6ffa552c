"""Settings for the video generation product.

Every value comes from the environment through the small helpers below. Each
has a default that suits the embedded setup (SQLite, database broker, local
media folder, sandbox provider); with DEBUG off, the settings that must be
chosen for production are required and a bad value stops start-up with a
message naming the variable.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"{name} must be set (DEBUG is off).")
        return default if default is not None else ""
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {number}.")
    return number


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {value!r}.") from None
    if not minimum <= number <= maximum:
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}; got {value!r}.")
    return number


def env_usd(name: str, default: str) -> Decimal:
    value = env_str(name, default)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be an amount in USD like 1.00; got {value!r}.") from None
    if amount < 0:
        raise ImproperlyConfigured(f"{name} must not be negative; got {value!r}.")
    return amount


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_url(name: str, default: str) -> str:
    value = env_str(name, default).rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ImproperlyConfigured(f"{name} must be an http(s) URL; got {value!r}.")
    return value


# On by default for the embedded setup (`bin/run`, a fresh checkout); production sets DEBUG=0,
# and then every required setting must be given.
DEBUG = env_bool("DEBUG", True)
TESTING = env_bool("VIDEOGEN_TESTING", False)

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me" if DEBUG else None, required=not DEBUG)
if not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set (DEBUG is off), e.g. videos.example.com.")

# The address customers reach us at: absolute links in API responses
# (status_url, signed video links) and emails are built from it.
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", PUBLIC_BASE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "core",
    "outbox",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.usersessions",
    "accounts",
    "billing",
    "webhooks",
    "api",
    "videogen",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the request: NUL bytes, oversized and over-nested bodies on the API paths.
    "api.guard.InputGuardMiddleware",
    "videogen.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.ActiveOrganizationMiddleware",
    # Last: it names the signed-in page's organization in the logs, which the two above resolve.
    "core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "videogen.urls"
WSGI_APPLICATION = "videogen.wsgi.application"
ASGI_APPLICATION = "videogen.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organizations",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL we understand: {exc}") from None
# Each test run gets its own database, so several runs on one machine never collide.
_test_name = env_str("TEST_DATABASE_NAME", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Several processes (web + worker) share the file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    _test_name = _test_name or str(VAR_DIR / f"test-{os.getpid()}.sqlite3")
else:
    _test_name = _test_name or f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    # One connection policy for every process: Django's own pool (psycopg_pool). A thread borrows a
    # connection for a request or a unit of work and gives it back when Django closes it, so threads
    # come and go (ASGI runs each request in a thread of its own) without opening connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": env_int("DB_POOL_MIN_SIZE", 1, minimum=0),
            "max_size": env_int("DB_POOL_MAX_SIZE", 10, minimum=1),
            "timeout": env_int("DB_POOL_TIMEOUT", 30, minimum=1),
        }
    }
    # PgBouncer in transaction mode cannot keep a cursor open across transactions.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False)
DATABASES["default"]["TEST"] = {"NAME": _test_name}
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files and media -----------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
if STORAGE_BACKEND not in {"local", "s3"}:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 's3'; got {STORAGE_BACKEND!r}.")
S3_REGION = env_str("S3_REGION", "us-east-1")
# "virtual" (bucket.host/key, what AWS wants), "path" (host/bucket/key: MinIO, moto, most
# S3-compatible servers on one host name), or "auto" (botocore decides).
S3_ADDRESSING_STYLE = env_str("S3_ADDRESSING_STYLE", "auto")
if S3_ADDRESSING_STYLE not in {"auto", "virtual", "path"}:
    raise ImproperlyConfigured(f"S3_ADDRESSING_STYLE must be auto, virtual or path; got {S3_ADDRESSING_STYLE!r}.")


def s3_storage(
    *, bucket: str, endpoint_url: str, region: str, access_key: str, secret_key: str, style: str
) -> dict[str, Any]:
    """The default storage on an S3-compatible service; presigned links use SigV4 in `region`."""
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # SigV4 is the only signature every region accepts (SigV2 links fail outside the oldest ones).
            # Short connect timeout and few retries: /readyz and uploads should fail fast, not hang.
            "client_config": Config(
                signature_version="s3v4",
                region_name=region,
                s3={"addressing_style": style},
                connect_timeout=5,
                read_timeout=60,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        },
    }


if STORAGE_BACKEND == "s3":
    _default_storage = s3_storage(
        bucket=env_str("S3_BUCKET", required=True),
        endpoint_url=env_str("S3_ENDPOINT_URL"),
        region=S3_REGION,
        access_key=env_str("S3_ACCESS_KEY_ID"),
        secret_key=env_str("S3_SECRET_ACCESS_KEY"),
        style=S3_ADDRESSING_STYLE,
    )
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
# Signed download links for videos, posters and uploads last this long.
SIGNED_URL_TTL_SECONDS = env_int("SIGNED_URL_TTL_SECONDS", 24 * 3600, minimum=60)
# Stored videos, and uploads no active job needs, are deleted after this many days (0 keeps them forever).
OUTPUT_RETENTION_DAYS = env_int("OUTPUT_RETENTION_DAYS", 30, minimum=0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email -----------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Seconds each exchange with the SMTP server may take; an attempt in progress keeps its email
# from the outbox sweep for ten times this (outbox.services.attempt_lease).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1, maximum=300)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Hailuo Studio <no-reply@localhost>")

# --- Shared cache ---------------------------------------------------------------
# Sign-in rate limits and used one-time codes must be seen by every web process: Redis when
# REDIS_URL is set, else a database table (made by `manage.py createcachetable`).
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "videogen-cache",
            # One pool per process: Django makes a cache backend per request under ASGI (core/redis.py).
            "OPTIONS": {"pool_class": "core.redis.SharedConnectionPool"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_entries"}}

# --- Sign-up, sign-in and multi-factor authentication (django-allauth) --------------
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
# No page or message says whether an address has an account.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Changing the address or the password, and deleting the account, need a sign-in in the last 5 minutes.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Hailuo Studio: "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PUBLIC_BASE_URL.startswith("https://") else "http"
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins: 5 per address per 5 minutes, 10 a minute per client address.
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    # New accounts: 5 an hour per client address.
    "signup": "5/h/ip",
    # Password-reset emails: 3 an hour per address, 20 a minute per client address.
    "reset_password": "20/m/ip,3/h/key",
    "reset_password_from_key": "20/m/ip",
    # Verification emails: one per address every 3 minutes.
    "confirm_email": "1/3m/key",
}
# How many proxies in front of the web servers append to X-Forwarded-For: the rate limits key on
# the client's address, not the proxy's.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "Hailuo Studio"
# Security keys need HTTPS, except on localhost in development.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# Sessions are recorded at sign-in (address, browser); tracking activity would write a row per page view.
USERSESSIONS_TRACK_ACTIVITY = False

# Sign-in with Google and GitHub: each appears once its client id and secret are set.
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
_SOCIAL_LOGINS = {
    "google": (env_str("GOOGLE_CLIENT_ID", ""), env_str("GOOGLE_CLIENT_SECRET", ""), ["profile", "email"]),
    "github": (env_str("GITHUB_CLIENT_ID", ""), env_str("GITHUB_CLIENT_SECRET", ""), ["user:email"]),
}
for _provider, (_client_id, _client_secret, _scope) in _SOCIAL_LOGINS.items():
    if bool(_client_id) != bool(_client_secret):
        raise ImproperlyConfigured(
            f"{_provider.upper()}_CLIENT_ID and {_provider.upper()}_CLIENT_SECRET must be set together."
        )
    if _client_id:
        INSTALLED_APPS.append(f"allauth.socialaccount.providers.{_provider}")
        SOCIALACCOUNT_PROVIDERS[_provider] = {
            "APPS": [{"client_id": _client_id, "secret": _client_secret, "key": ""}],
            "SCOPE": _scope,
        }

# --- Task queue (django-q2) -------------------------------------------------
Q_CLUSTER = {
    # Also the name of the queue in Redis and the salt that signs tasks: every process of one site shares it.
    "name": env_str("Q_CLUSTER_NAME", "videogen"),
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A task may run at most `timeout` seconds; it is retried after `retry`.
    # timeout < retry so a slow task is never handed to a second worker while alive.
    "timeout": 120,
    "retry": 180,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.5,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- REST API --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    # A view says what each method does in the permission table (api.views.ApiView.actions).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "api.permissions.ActionPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
}
# Status reads of a job per API key and minute, counted apart from its other requests (api.ratelimit): SDKs
# poll once a second while a job runs (Segmind's wait() does not retry a 429), so 20 waiting clients fit.
API_KEY_STATUS_READS_PER_MINUTE = env_int("API_KEY_STATUS_READS_PER_MINUTE", 1800, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "Hailuo Studio API",
    "DESCRIPTION": "Generate videos with the MiniMax Hailuo 02 family of models.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Billing ---------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
# Lets tests and staging point the stripe library at another API host.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
SIGNUP_GRANT_USD = env_usd("SIGNUP_GRANT_USD", "1.00")
TOPUP_MIN_USD = env_usd("TOPUP_MIN_USD", "5.00")
TOPUP_MAX_USD = env_usd("TOPUP_MAX_USD", "1000.00")
LOW_BALANCE_DEFAULT_USD = env_usd("LOW_BALANCE_DEFAULT_USD", "0.25")

# --- Generation pipeline ---------------------------------------------------
GENERATION_DEADLINE_SECONDS = env_int("GENERATION_DEADLINE_SECONDS", 30 * 60, minimum=10)
# Jobs one poller claims per sweep. A few times POLL_CONCURRENCY: a poller that claimed a full batch
# sweeps again at once, and several pollers share the due jobs instead of one taking them all.
POLL_BATCH_SIZE = env_int("POLL_BATCH_SIZE", 100, minimum=1)
POLL_CONCURRENCY = env_int("POLL_CONCURRENCY", 32, minimum=1, maximum=512)
# A job still `submitting` after this long had its worker die mid-call: it is
# resubmitted to an idempotent provider, else failed unpaid. Keep it above the
# longest provider request (PROVIDER_READ_TIMEOUT).
SUBMIT_STUCK_SECONDS = env_int("SUBMIT_STUCK_SECONDS", 90, minimum=1)
# Pause between two sweeps of one poller (`manage.py poll`). A due job waits this long at most; an idle
# sweep is one indexed query.
POLL_SWEEP_MS = env_int("POLL_SWEEP_MS", 100, minimum=50)
SANDBOX_LATENCY_SECONDS = env_int("SANDBOX_LATENCY_SECONDS", 3, minimum=0)
# Where the sandbox provider keeps what it renders (it stands in for a remote service).
SANDBOX_DIR = Path(env_str("SANDBOX_DIR", str(VAR_DIR / "sandbox")))

MINIMAX_API_KEY = env_str("MINIMAX_API_KEY", "")
MINIMAX_BASE_URL = env_url("MINIMAX_BASE_URL", "https://api.minimax.io")
MINIMAX_USE_CALLBACK = env_bool("MINIMAX_USE_CALLBACK", False)
SEGMIND_API_KEY = env_str("SEGMIND_API_KEY", "")
SEGMIND_BASE_URL = env_url("SEGMIND_BASE_URL", "https://api.segmind.com")
AIMLAPI_API_KEY = env_str("AIMLAPI_API_KEY", "")
AIMLAPI_BASE_URL = env_url("AIMLAPI_BASE_URL", "https://api.aimlapi.com")
ATLASCLOUD_API_KEY = env_str("ATLASCLOUD_API_KEY", "")
ATLASCLOUD_BASE_URL = env_url("ATLASCLOUD_BASE_URL", "https://api.atlascloud.ai")
# Submissions per minute to each provider account (0: no limit); past it, jobs wait queued.
# MiniMax publishes 20 video requests a minute for a paid account (5 for a free one).
MINIMAX_SUBMITS_PER_MINUTE = env_int("MINIMAX_SUBMITS_PER_MINUTE", 20, minimum=0)
SEGMIND_SUBMITS_PER_MINUTE = env_int("SEGMIND_SUBMITS_PER_MINUTE", 0, minimum=0)
AIMLAPI_SUBMITS_PER_MINUTE = env_int("AIMLAPI_SUBMITS_PER_MINUTE", 0, minimum=0)
ATLASCLOUD_SUBMITS_PER_MINUTE = env_int("ATLASCLOUD_SUBMITS_PER_MINUTE", 0, minimum=0)
PROVIDER_CONNECT_TIMEOUT = env_int("PROVIDER_CONNECT_TIMEOUT", 5, minimum=1)
PROVIDER_READ_TIMEOUT = env_int("PROVIDER_READ_TIMEOUT", 30, minimum=1)
# The sandbox serves jobs when no real provider has a key, unless set explicitly.
_any_provider_key = any((MINIMAX_API_KEY, SEGMIND_API_KEY, AIMLAPI_API_KEY, ATLASCLOUD_API_KEY))
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", not _any_provider_key)
# Largest video we accept from a provider.
MAX_OUTPUT_BYTES = env_int("MAX_OUTPUT_BYTES", 500 * 1024 * 1024, minimum=1024)

# --- Outbound requests to customer URLs (images, webhooks) -----------------
# Hosts exempt from the private-address rules: for local development and
# tests only; keep empty in production.
OUTBOUND_ALLOWED_HOSTS = env_list("OUTBOUND_ALLOWED_HOSTS", "")
OUTBOUND_MAX_BYTES = env_int("OUTBOUND_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
OUTBOUND_TIMEOUT_SECONDS = env_int("OUTBOUND_TIMEOUT_SECONDS", 15, minimum=1, maximum=60)

# --- Webhooks ----------------------------------------------------------------
# An endpoint failing without a single success for this many days is disabled.
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 5, minimum=1)

# --- Security in production --------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Served over HTTPS only (secure cookies): browsers are told to use nothing else, on every subdomain too.
    if SESSION_COOKIE_SECURE:
        SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
        SECURE_HSTS_INCLUDE_SUBDOMAINS = True

# --- Logs and error tracking -------------------------------------------------------
# plain: one readable line per record; json: one JSON object per line, with the request id,
# organization, job and provider the record is about (core.logcontext).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json; got {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logcontext.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "django-q": {"level": "WARNING"}},
}

# /metrics answers only "Authorization: Bearer <METRICS_TOKEN>"; empty turns it off (404).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters long (or empty to turn /metrics off).")

# Errors go to Sentry only when a DSN is set; nothing is initialised otherwise.
SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
# The share of requests and tasks traced for performance (0 to 1); errors are always sent.
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0.0, maximum=1.0)
if SENTRY_DSN:
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(SENTRY_DSN)
    except BadDsn:
        raise ImproperlyConfigured("SENTRY_DSN is not a Sentry DSN (https://<key>@<host>/<project>).") from None
    from core.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
