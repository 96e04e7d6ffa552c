"""Sending requests to a provider's HTTP API: one client, auth headers, the exchange record, error mapping.

Every request leaves an Exchange with the API key removed and inline images
shortened, so operators can read what was said without leaking secrets. The
rules that turn a response into an ErrorKind are in `classify`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

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
)
from videogen.providers.classify import Phase, classify_status, provider_error, transport_code
from videogen.providers.responses import TEXT_BODY_KEEP, Decoded, body_message, decode, parse_retry_after


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
        code = transport_code(exc)
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


class HttpProviderAdapter(ProviderAdapter):
    """Common construction for adapters that talk to an HTTP API with one key."""

    supported_models: ClassVar[frozenset[str]] = frozenset()
    # The settings holding this provider's API key and base URL.
    key_setting: ClassVar[str]
    url_setting: ClassVar[str]

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
