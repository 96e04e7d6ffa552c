"""The Sentry test's server: the product's settings, and two views of its own (see sentry_urls)."""

from videogen.settings import *  # noqa: F403

ROOT_URLCONF = "tests.core.sentry_urls"
