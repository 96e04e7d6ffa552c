"""The base class of adapters that talk to an HTTP API with one key, on the healthchecks transport model.

The base class sends every request (one client, auth headers, timeouts set
by `core.outbound.provider_client`) and keeps the record of each exchange,
with the API key removed and inline images shortened, so operators can read
what was said without leaking secrets. The record ends up on the result
(`UpstreamResult.exchanges`) or on the error (`ProviderError.exchanges`) of
the public call that made it; no list is passed around. An adapter
translates its provider's protocol in `start`, `status` and `links`, and
adds its provider's own error rules by overriding one method,
`raise_for_response` (the shared rules are in `classify`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
from django.conf import settings

from core.outbound import provider_client
from core.redaction import redact
from videogen.providers.base import (
    ErrorKind,
    Exchange,
    ProviderAdapter,
    ProviderError,
    SubmitRequest,
    UpstreamResult,
)
from videogen.providers.classify import Phase, classify_status, transport_code
from videogen.providers.responses import TEXT_BODY_KEEP, Decoded, body_message, decode, parse_retry_after

T = TypeVar("T")

# The exchanges of the public call in progress in this thread (adapters are shared between threads).
_EXCHANGES: ContextVar[list[Exchange] | None] = ContextVar("provider_exchanges", default=None)


@dataclass
class FileOrJson:
    """What a synchronous endpoint answered: a downloaded file, or a JSON body."""

    path: Path | None
    body: Any
    headers: httpx.Headers


class HttpProviderAdapter(ProviderAdapter):
    """Sends every request of an adapter, records it, and classifies failures in `raise_for_response`."""

    supported_models: ClassVar[frozenset[str]] = frozenset()
    # The settings holding this provider's API key and base URL.
    key_setting: ClassVar[str]
    url_setting: ClassVar[str]
    # Statuses this provider uses for "out of credits" besides 402 (Segmind: 406).
    credit_statuses: ClassVar[frozenset[int]] = frozenset()

    @classmethod
    def from_settings(
        cls, *, client: httpx.Client | None = None, api_key: str | None = None, base_url: str | None = None
    ) -> ProviderAdapter:
        return cls(
            client=client or provider_client(),
            owns_client=client is None,
            api_key=getattr(settings, cls.key_setting) if api_key is None else api_key,
            base_url=base_url or getattr(settings, cls.url_setting),
        )

    def __init__(self, *, client: httpx.Client, api_key: str, base_url: str, owns_client: bool = False) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.client = client
        self._owns_client = owns_client

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    # --- the public calls: each keeps its own record of exchanges -------------------------

    def submit(self, request: SubmitRequest) -> UpstreamResult:
        self._require_key()
        type(self).check(request)
        return self.recorded(lambda: self.start(request))

    def poll(self, upstream_id: str) -> UpstreamResult:
        self._require_key()
        return self.recorded(lambda: self.status(upstream_id))

    def result_urls(self, result: UpstreamResult) -> list[str]:
        return self.recorded(lambda: self.links(result), into=result)

    def result_url(self, result: UpstreamResult) -> str:
        return self.result_urls(result)[0]

    # --- what each adapter implements -------------------------------------------------------

    def start(self, request: SubmitRequest) -> UpstreamResult:
        """Send the request upstream (its `check()` has passed); the job's first state."""
        raise NotImplementedError

    def status(self, upstream_id: str) -> UpstreamResult:
        """Where the upstream job is."""
        raise NotImplementedError

    def links(self, result: UpstreamResult) -> list[str]:
        """Where a succeeded job's video can be downloaded, best first."""
        if not result.output_url:
            raise self.fail(ErrorKind.TRANSIENT, "no_output", "The provider returned no output URL.")
        return [result.output_url]

    def headers(self) -> dict[str, str]:
        """Bearer authentication, which most providers use; Segmind overrides it."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def raise_for_response(self, response: httpx.Response, decoded: Decoded, phase: Phase) -> None:
        """Raise the classified ProviderError for a failed response; return for one to read.

        Override to add a provider's own rules (errors inside a 200, a
        failure status served as an HTTP error), calling this for the rest.
        """
        status = response.status_code
        if 200 <= status < 300:
            if not decoded.is_json:
                raise self.fail(
                    ErrorKind.TRANSIENT,
                    "bad_response",
                    f"HTTP {status} with a body that is not JSON: {decoded.text[:200]!r}",
                    status_code=status,
                )
            return
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status >= 500 and not decoded.is_json:
            raise self.fail(
                ErrorKind.TRANSIENT,
                "bad_response",
                f"HTTP {status} with an error page: {decoded.text[:200]!r}",
                status_code=status,
                retry_after=retry_after,
            )
        self.raise_status(status, body_message(decoded.data, decoded.text), phase=phase, retry_after=retry_after)

    # --- helpers for adapters -----------------------------------------------------------------

    def recorded(self, call: Callable[[], T], *, into: UpstreamResult | None = None) -> T:
        """Run one public call with a record of its exchanges, left on its result or its error.

        A call made inside another (Atlas uploads a frame while submitting)
        adds to the outer call's record.
        """
        outer = _EXCHANGES.get()
        log = into.exchanges if into is not None else (outer if outer is not None else [])
        token = _EXCHANGES.set(log)
        try:
            outcome = call()
        except ProviderError as exc:
            exc.exchanges = list(log)
            raise
        finally:
            _EXCHANGES.reset(token)
        if isinstance(outcome, UpstreamResult):
            outcome.exchanges = log
        return outcome

    def fail(
        self,
        kind: ErrorKind,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> ProviderError:
        """A ProviderError with secrets removed from its message."""
        error = ProviderError(kind, code, self.redact(message), status_code=status_code, retry_after=retry_after)
        error.exchanges = list(_EXCHANGES.get() or [])
        return error

    def bad_response(self, message: str) -> ProviderError:
        return self.fail(ErrorKind.TRANSIENT, "bad_response", message)

    def raise_status(self, status: int, message: str, *, phase: Phase, retry_after: float | None = None) -> None:
        """Raise the classified error for a failing status (HTTP or in-body)."""
        kind, code, delay = classify_status(
            status, message=message, phase=phase, credit_statuses=self.credit_statuses, retry_after=retry_after
        )
        raise self.fail(kind, code, f"HTTP {status}: {message or 'no detail'}", status_code=status, retry_after=delay)

    def redact(self, value: Any) -> Any:
        return redact(value, [self.api_key] if self.api_key else [])

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        phase: Phase,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> tuple[int, Any]:
        """Send, record, classify; returns (HTTP status, parsed JSON) of an answer to read."""
        response = self._send(method, path, json=json, params=params, files=files)
        decoded = decode(response)
        self.raise_for_response(response, decoded, phase)
        return response.status_code, decoded.data

    def post_for_file(self, path: str, *, json: Any, download_dir: Path | None, suffix: str = ".mp4") -> FileOrJson:
        """POST to an endpoint that answers with media bytes (streamed to a file) or JSON."""
        url = self.url(path)
        request = self.client.build_request("POST", url, json=json, headers=self.headers())
        try:
            response = self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc, "POST", url, json) from exc
        try:
            content_type = response.headers.get("content-type", "")
            if response.status_code == 200 and content_type.startswith(("video/", "application/octet-stream")):
                target, size = self._stream_to_file(response, url, json, download_dir, suffix)
                self._record("POST", url, 200, json, f"<{content_type}, {size} bytes>")
                return FileOrJson(path=target, body=None, headers=response.headers)
            try:
                response.read()
            except httpx.TransportError as exc:
                raise self._transport_failure(exc, "POST", url, json) from exc
        finally:
            response.close()
        self._record("POST", url, response.status_code, json, self._logged_response_body(response))
        decoded = decode(response)
        self.raise_for_response(response, decoded, Phase.SUBMIT)
        return FileOrJson(path=None, body=decoded.data, headers=response.headers)

    # --- internals ------------------------------------------------------------------------------

    def _require_key(self) -> None:
        if not self.api_key:
            raise ProviderError(ErrorKind.ACCOUNT, "not_configured", f"No API key is configured for {self.name}.")

    def _record(self, method: str, url: str, status: int | None, request_body: Any, response_body: Any) -> None:
        log = _EXCHANGES.get()
        if log is None:
            return
        log.append(
            Exchange(
                method=method,
                url=self.redact(url),
                status_code=status,
                request_body=self.redact(request_body),
                response_body=self.redact(response_body),
            )
        )

    @staticmethod
    def _logged_request_body(json_body: Any, files: Any) -> Any:
        if files:
            return {name: f"<file {spec[0]} {spec[2]}, {len(spec[1])} bytes>" for name, spec in files.items()}
        return json_body

    @staticmethod
    def _logged_response_body(response: httpx.Response) -> Any:
        content_type = response.headers.get("content-type", "")
        if content_type.startswith(("video/", "image/", "application/octet-stream")):
            return f"<{content_type}, {len(response.content)} bytes>"
        decoded = decode(response)
        if decoded.is_json:
            return decoded.data
        return decoded.text[:TEXT_BODY_KEEP]

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        url = self.url(path)
        request = self.client.build_request(method, url, json=json, params=params, files=files, headers=self.headers())
        logged_body = self._logged_request_body(json, files)
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc, method, str(request.url), logged_body) from exc
        self._record(method, str(request.url), response.status_code, logged_body, self._logged_response_body(response))
        return response

    def _transport_failure(self, exc: httpx.TransportError, method: str, url: str, logged_body: Any) -> ProviderError:
        code = transport_code(exc)
        self._record(method, url, None, logged_body, f"<{code}: {exc}>")
        return self.fail(ErrorKind.TRANSIENT, code, f"{code} calling {method} {url}: {exc}")

    def _stream_to_file(
        self, response: httpx.Response, url: str, json_body: Any, download_dir: Path | None, suffix: str
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
            raise self._transport_failure(exc, "POST", url, json_body) from exc
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target, size
