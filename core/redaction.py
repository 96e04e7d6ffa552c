"""One redaction for everything we keep or show that may hold a credential.

Provider exchanges are redacted when they are recorded, and the admin redacts
again whatever it shows, with the same function: the secrets it is given,
every provider and Stripe key configured in the settings, anything shaped
like a credential (an `Authorization` value, `sk-...`/`whsec_...` keys, a
signed query string), and values under credential-named keys are removed;
inline images (data URLs, long base64 runs) are cut to a few characters so a
log stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

REDACTED = "[redacted]"
# Inline images (data URLs, bare base64) are cut to this many characters.
INLINE_DATA_KEEP = 48

# Names whose values are credentials wherever they appear (headers, bodies, query strings).
_SECRET_NAME = re.compile(
    r"^(proxy-)?authorization$|^x-api-key$|^api[-_]?key$|^apikey$|^(access|refresh|id)?[-_]?token$"
    r"|^(client[-_])?secret$|^password$|^signature$|^x-amz-signature$|^x-amz-security-token$",
    re.IGNORECASE,
)
_SECRET_TEXT = [
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    # Keys in the shapes providers, Stripe and we use: sk-..., sk_live_..., whsec_..., hs_...
    (re.compile(r"\b(sk|pk|rk|hs|whsec)[-_][A-Za-z0-9_-]{8,}"), REDACTED),
    (
        re.compile(
            r"(?i)([?&](api[-_]?key|key|token|access_token|signature|sig|x-amz-signature|x-amz-security-token)=)[^&\s\"']+"
        ),
        r"\1" + REDACTED,
    ),
]
_KEY_SETTINGS = (
    "MINIMAX_API_KEY",
    "SEGMIND_API_KEY",
    "AIMLAPI_API_KEY",
    "ATLASCLOUD_API_KEY",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
)
_BASE64_RUN = re.compile(r"^[A-Za-z0-9+/=\s]{256,}$")


def configured_secrets() -> tuple[str, ...]:
    """The provider and Stripe keys in the settings (short placeholder values are not worth scrubbing)."""
    values = (getattr(settings, name, "") for name in _KEY_SETTINGS)
    return tuple(v for v in values if isinstance(v, str) and len(v) >= 6)


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like value with credentials removed and inline images shortened."""
    known = tuple(dict.fromkeys(s for s in (*secrets, *configured_secrets()) if s))
    return _redact(value, known)


def _redact(value: Any, known: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _scrub(_shorten_inline_data(value) or value, known)
    if isinstance(value, Mapping):
        return {
            _scrub(str(k), known): REDACTED
            if _SECRET_NAME.search(str(k)) and v not in (None, "")
            else _redact(v, known)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v, known) for v in value]
    return value


def _scrub(text: str, known: tuple[str, ...]) -> str:
    for secret in known:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _shorten_inline_data(text: str) -> str | None:
    if text.startswith("data:") and "," in text:
        head, _, payload = text.partition(",")
        if len(payload) > INLINE_DATA_KEEP:
            return f"{head},{payload[:INLINE_DATA_KEEP]}...[{len(payload)} chars]"
        return None
    if _BASE64_RUN.match(text):
        return f"{text[:INLINE_DATA_KEEP]}...[{len(text)} chars of base64]"
    return None
