"""Request plumbing and error classification shared by the provider adapters.

Every adapter talks HTTP through a `ProviderHttp`, so the rules that turn a
response into an ErrorKind live here once:

- connect timeout, read timeout, connection refused: TRANSIENT
- 429: TRANSIENT, `retry_after` from the Retry-After header (seconds or date)
- 500/502/503/504: TRANSIENT
- 401/403: ACCOUNT; 402, a provider's own credit status (Segmind 406), or a
  403 whose body talks about credits: ACCOUNT "upstream_insufficient_credit"
- 404: PERMANENT "expired" for a job we poll, PERMANENT "model_not_found" on
  submit (the provider no longer serves that model: that route rests, the
  provider's other models and the next route carry on)
- other 4xx: PERMANENT, with the provider's message
- a 2xx or 5xx whose body is not JSON (garbage, an HTML error page):
  TRANSIENT "bad_response"

Every request leaves an Exchange with the API key removed and inline images
shortened, so operators can read what was said without leaking secrets.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from core.redaction import redact
from videogen.providers.base import (
    ErrorKind,
    Exchange,
    ProviderAdapter,
    ProviderError,
    SubmitRequest,
)

# Longer non-JSON bodies (HTML error pages) are cut to this many characters.
TEXT_BODY_KEEP = 2000
# Messages taken from a provider's body and put in a ProviderError.
MESSAGE_KEEP = 500

_CREDIT_WORDS = re.compile(r"credit|balance|fund|quota|payment|billing", re.IGNORECASE)
_MESSAGE_KEYS = ("message", "error", "detail", "msg", "status_msg", "error_message")
_SERVER_CODES = {500: "server_error", 502: "bad_gateway", 503: "unavailable", 504: "gateway_timeout"}


class Phase(enum.StrEnum):
    """What the request was for: the same status means different things."""

    SUBMIT = "submit"
    POLL = "poll"
    RESULT = "result"
    UPLOAD = "upload"


# --- reading bodies -------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def body_message(body: Any, fallback: str = "") -> str:
    """The human message a provider put in an error body, wherever it put it."""
    if isinstance(body, Mapping):
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:MESSAGE_KEEP]
            if isinstance(value, Mapping):
                nested = body_message(value)
                if nested:
                    return nested
        base_resp = body.get("base_resp")
        if isinstance(base_resp, Mapping):
            return body_message(base_resp, fallback)
    if isinstance(body, str) and body:
        return body[:MESSAGE_KEEP]
    return fallback[:MESSAGE_KEEP]


def _looks_like_html(response: httpx.Response, text: str) -> bool:
    content_type = response.headers.get("content-type", "")
    return "html" in content_type or text.lstrip()[:1] == "<"


@dataclass
class Decoded:
    """A response body: parsed JSON when it was JSON, else the text."""

    data: Any
    text: str
    is_json: bool


def decode(response: httpx.Response) -> Decoded:
    text = response.text
    if not text or _looks_like_html(response, text):
        return Decoded(data=None, text=text, is_json=False)
    try:
        return Decoded(data=json.loads(text), text=text, is_json=True)
    except ValueError:
        return Decoded(data=None, text=text, is_json=False)


# --- classification -------------------------------------------------------------


def provider_error(
    kind: ErrorKind,
    code: str,
    message: str,
    *,
    exchanges: list[Exchange],
    status_code: int | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """A ProviderError carrying the exchanges that led to it (as `.exchanges`)."""
    error = ProviderError(kind, code, message, status_code=status_code, retry_after=retry_after)
    error.exchanges = list(exchanges)  # type: ignore[attr-defined]
    return error


def classify_status(
    status: int,
    *,
    message: str,
    phase: Phase,
    credit_statuses: frozenset[int],
    retry_after: float | None = None,
) -> tuple[ErrorKind, str, float | None]:
    """ErrorKind, code and retry delay for a failed HTTP status (or an in-body code)."""
    if status == 429:
        return ErrorKind.TRANSIENT, "rate_limited", retry_after
    if status in credit_statuses or status == 402:
        return ErrorKind.ACCOUNT, "upstream_insufficient_credit", None
    if status == 403 and _CREDIT_WORDS.search(message):
        return ErrorKind.ACCOUNT, "upstream_insufficient_credit", None
    if status == 401:
        return ErrorKind.ACCOUNT, "unauthorized", None
    if status == 403:
        return ErrorKind.ACCOUNT, "forbidden", None
    if status >= 500:
        return ErrorKind.TRANSIENT, _SERVER_CODES.get(status, "server_error"), retry_after
    if status == 404:
        if phase == Phase.SUBMIT:
            return ErrorKind.PERMANENT, "model_not_found", None
        return ErrorKind.PERMANENT, "expired", None
    if status == 408:
        return ErrorKind.TRANSIENT, "upstream_timeout", None
    if 400 <= status < 500:
        return ErrorKind.PERMANENT, "invalid_request", None
    return ErrorKind.TRANSIENT, "bad_response", None


def _transport_code(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return "read_timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "pool_timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection_refused" if "refused" in str(exc).lower() else "connect_error"
    return "network_error"


# --- the client wrapper -----------------------------------------------------------


@dataclass
class FileOrJson:
    """What a synchronous endpoint answered: a downloaded file, or a JSON body."""

    path: Path | None
    body: Any
    headers: httpx.Headers


class ProviderHttp:
    """One provider's API: base URL, auth headers, exchange log and error mapping."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        *,
        headers: Mapping[str, str],
        secrets: Iterable[str],
        credit_statuses: Iterable[int] = (),
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers)
        self.secrets = tuple(s for s in secrets if s)
        self.credit_statuses = frozenset(credit_statuses)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def redact(self, value: Any) -> Any:
        return redact(value, self.secrets)

    def fail(
        self,
        kind: ErrorKind,
        code: str,
        message: str,
        *,
        exchanges: list[Exchange],
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> ProviderError:
        return provider_error(
            kind,
            code,
            self.redact(message),
            exchanges=exchanges,
            status_code=status_code,
            retry_after=retry_after,
        )

    def record(
        self,
        exchanges: list[Exchange],
        method: str,
        url: str,
        status: int | None,
        request_body: Any,
        response_body: Any,
    ) -> None:
        exchanges.append(
            Exchange(
                method=method,
                url=self.redact(url),
                status_code=status,
                request_body=self.redact(request_body),
                response_body=self.redact(response_body),
            )
        )

    def _logged_request_body(self, json_body: Any, files: Any) -> Any:
        if files:
            return {name: f"<file {spec[0]} {spec[2]}, {len(spec[1])} bytes>" for name, spec in files.items()}
        return json_body

    def send(
        self,
        method: str,
        path: str,
        *,
        exchanges: list[Exchange],
        json: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """Send one request and read the whole body; transport failures become TRANSIENT."""
        url = self.url(path)
        request = self.client.build_request(method, url, json=json, params=params, files=files, headers=self.headers)
        logged_body = self._logged_request_body(json, files)
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc, exchanges, method, str(request.url), logged_body) from exc
        logged_response = self._logged_response_body(response)
        self.record(exchanges, method, str(request.url), response.status_code, logged_body, logged_response)
        return response

    def _transport_failure(
        self,
        exc: httpx.TransportError,
        exchanges: list[Exchange],
        method: str,
        url: str,
        logged_body: Any,
    ) -> ProviderError:
        code = _transport_code(exc)
        self.record(exchanges, method, url, None, logged_body, f"<{code}: {exc}>")
        return self.fail(ErrorKind.TRANSIENT, code, f"{code} calling {method} {url}: {exc}", exchanges=exchanges)

    def _logged_response_body(self, response: httpx.Response) -> Any:
        content_type = response.headers.get("content-type", "")
        if content_type.startswith(("video/", "image/", "application/octet-stream")):
            return f"<{content_type}, {len(response.content)} bytes>"
        decoded = decode(response)
        if decoded.is_json:
            return decoded.data
        return decoded.text[:TEXT_BODY_KEEP]

    def request_json(
        self,
        method: str,
        path: str,
        *,
        exchanges: list[Exchange],
        phase: Phase,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        accept_statuses: Iterable[int] = (),
    ) -> tuple[int, Any]:
        """Send and return (status, parsed JSON); every failure raises ProviderError.

        `accept_statuses` lists non-2xx statuses whose JSON body the adapter
        reads itself (Segmind serves a FAILED job as HTTP 422).
        """
        response = self.send(method, path, exchanges=exchanges, json=json, params=params, files=files)
        decoded = decode(response)
        if response.status_code in set(accept_statuses) and decoded.is_json:
            return response.status_code, decoded.data
        self.raise_for_response(response, decoded, phase=phase, exchanges=exchanges)
        return response.status_code, decoded.data

    def raise_for_response(
        self, response: httpx.Response, decoded: Decoded, *, phase: Phase, exchanges: list[Exchange]
    ) -> None:
        status = response.status_code
        if 200 <= status < 300:
            if not decoded.is_json:
                raise self.fail(
                    ErrorKind.TRANSIENT,
                    "bad_response",
                    f"HTTP {status} with a body that is not JSON: {decoded.text[:200]!r}",
                    exchanges=exchanges,
                    status_code=status,
                )
            return
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status >= 500 and not decoded.is_json:
            raise self.fail(
                ErrorKind.TRANSIENT,
                "bad_response",
                f"HTTP {status} with an error page: {decoded.text[:200]!r}",
                exchanges=exchanges,
                status_code=status,
                retry_after=retry_after,
            )
        self.raise_status(
            status,
            body_message(decoded.data, decoded.text),
            phase=phase,
            exchanges=exchanges,
            retry_after=retry_after,
        )

    def raise_status(
        self,
        status: int,
        message: str,
        *,
        phase: Phase,
        exchanges: list[Exchange],
        retry_after: float | None = None,
    ) -> None:
        """Raise the classified error for a failing status (HTTP or in-body)."""
        kind, code, delay = classify_status(
            status,
            message=message,
            phase=phase,
            credit_statuses=self.credit_statuses,
            retry_after=retry_after,
        )
        raise self.fail(
            kind,
            code,
            f"HTTP {status}: {message or 'no detail'}",
            exchanges=exchanges,
            status_code=status,
            retry_after=delay,
        )

    def post_for_file(
        self,
        path: str,
        *,
        json: Any,
        exchanges: list[Exchange],
        download_dir: Path | None,
        suffix: str = ".mp4",
    ) -> FileOrJson:
        """POST to an endpoint that answers with media bytes (streamed to a file) or JSON."""
        url = self.url(path)
        request = self.client.build_request("POST", url, json=json, headers=self.headers)
        try:
            response = self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc, exchanges, "POST", url, json) from exc
        try:
            content_type = response.headers.get("content-type", "")
            if response.status_code == 200 and content_type.startswith(("video/", "application/octet-stream")):
                target, size = self._stream_to_file(response, exchanges, url, json, download_dir, suffix)
                self.record(exchanges, "POST", url, 200, json, f"<{content_type}, {size} bytes>")
                return FileOrJson(path=target, body=None, headers=response.headers)
            try:
                response.read()
            except httpx.TransportError as exc:
                raise self._transport_failure(exc, exchanges, "POST", url, json) from exc
        finally:
            response.close()
        self.record(exchanges, "POST", url, response.status_code, json, self._logged_response_body(response))
        decoded = decode(response)
        self.raise_for_response(response, decoded, phase=Phase.SUBMIT, exchanges=exchanges)
        return FileOrJson(path=None, body=decoded.data, headers=response.headers)

    def _stream_to_file(
        self,
        response: httpx.Response,
        exchanges: list[Exchange],
        url: str,
        json_body: Any,
        download_dir: Path | None,
        suffix: str,
    ) -> tuple[Path, int]:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open across the loop, closed below
            mode="wb", suffix=suffix, dir=download_dir, delete=False
        )
        target = Path(handle.name)
        size = 0
        try:
            with handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
                    size += len(chunk)
        except httpx.TransportError as exc:
            target.unlink(missing_ok=True)
            raise self._transport_failure(exc, exchanges, "POST", url, json_body) from exc
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target, size


# --- adapter base -------------------------------------------------------------------


def decode_data_url(value: str) -> tuple[str, bytes] | None:
    """(content type, bytes) of a base64 data URL, or None when it is not one."""
    if not value.startswith("data:") or "," not in value:
        return None
    head, _, payload = value[5:].partition(",")
    content_type, _, encoding = head.partition(";")
    if encoding != "base64":
        return None
    try:
        return content_type or "application/octet-stream", base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


class HttpProviderAdapter(ProviderAdapter):
    """Common construction for adapters that talk to an HTTP API with one key."""

    supported_models: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, client: httpx.Client, api_key: str, base_url: str, owns_client: bool = False) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._owns_client = owns_client
        self.http = self._make_http(client)

    def _make_http(self, client: httpx.Client) -> ProviderHttp:
        """Bearer authentication, which most providers use; Segmind overrides it."""
        return ProviderHttp(
            client,
            self.base_url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            secrets=[self.api_key],
        )

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _begin(self, request: SubmitRequest | None = None) -> list[Exchange]:
        """Check what needs no network (a key, `check()`'s rules); return a fresh exchange log."""
        exchanges: list[Exchange] = []
        if not self.api_key:
            raise provider_error(
                ErrorKind.ACCOUNT,
                "not_configured",
                f"No API key is configured for {self.name}.",
                exchanges=exchanges,
            )
        if request is not None:
            try:
                type(self).check(request)
            except ProviderError as exc:
                exc.exchanges = []  # type: ignore[attr-defined]
                raise
        return exchanges

    def _bad_response(self, message: str, exchanges: list[Exchange]) -> ProviderError:
        return provider_error(ErrorKind.TRANSIENT, "bad_response", message, exchanges=exchanges)
