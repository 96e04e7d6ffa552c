"""Hostile input on the machine paths is refused before any view reads it.

Every endpoint under the API and compatible prefixes reads JSON, ids from the
path and query parameters. What no endpoint can use is refused here, once, with
the API's error shape naming the field and the rule:

- a NUL byte or a lone surrogate in the path answers 404 (no id contains one);
- a NUL byte or a lone surrogate in a query parameter answers 400 naming it;
- a body over `DATA_UPLOAD_MAX_MEMORY_SIZE` answers 413 before it is parsed
  (multipart uploads are streamed to disk by Django and limited by their view);
- a JSON body nested deeper than `MAX_JSON_DEPTH`, or with a NUL byte or a lone
  surrogate in any key or string, answers 400 naming the field (`prompt`,
  `metadata.k`, `tags[1]`).

PostgreSQL cannot store NUL in text, and lone surrogates cannot be encoded as
UTF-8, so without this such input reached the database and answered 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.deprecation import MiddlewareMixin

from api.errors import MACHINE_PATH_PREFIXES
from core.errors import ApiError

MAX_JSON_DEPTH = 32
_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


class InputRefused(Exception):
    def __init__(self, status: int, code: str, param: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param
        self.message = message

    def api_error(self) -> ApiError:
        kind = "not_found" if self.status == 404 else "invalid_request_error"
        return ApiError(self.status, kind, self.code, self.message, param=self.param)

    def response(self) -> JsonResponse:
        error = self.api_error()
        return JsonResponse(error.body(), status=error.status_code)


def _check_text(value: str, param: str) -> None:
    if _BAD_CHARACTERS.search(value):
        raise InputRefused(
            400, "invalid_characters", param, f"{param}: must not contain NUL bytes or unpaired surrogates."
        )


def _check_json(document: Any) -> None:
    """Walk the parsed body without recursion: depth, keys and strings."""
    pending: list[tuple[Any, str, int]] = [(document, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputRefused(
                400, "too_deep", path or "body", f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."
            )
        if isinstance(value, str):
            _check_text(value, path or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                # The native API names a model parameter alone, whether it came inside `input` or beside it.
                child = f"{path}.{key}" if path and path != "input" else str(key)
                if _BAD_CHARACTERS.search(key):
                    raise InputRefused(
                        400, "invalid_characters", "body", "A field name contains a NUL byte or an unpaired surrogate."
                    )
                pending.append((item, child, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))


def refusal(request: HttpRequest) -> InputRefused | None:
    """Why this request cannot be served, or None."""
    try:
        if _BAD_CHARACTERS.search(request.path):
            raise InputRefused(404, "not_found", "path", "No such resource.")
        for name, values in request.GET.lists():
            _check_text(name, "query")
            for value in values:
                _check_text(value, name)
        content_type = request.content_type or ""
        if content_type.startswith("multipart/"):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            raise InputRefused(413, "request_too_large", "body", f"The request body is larger than {limit} bytes.")
        if content_type == "application/json" or content_type.endswith("+json"):
            body = request.body
            if limit is not None and len(body) > limit:
                raise InputRefused(413, "request_too_large", "body", f"The request body is larger than {limit} bytes.")
            try:
                document = json.loads(body)
            except RecursionError:
                raise InputRefused(
                    400, "too_deep", "body", f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."
                ) from None
            except ValueError:
                return None  # not JSON: each endpoint answers that in its own words
            _check_json(document)
    except InputRefused as refused:
        return refused
    return None


# Paths whose every endpoint authenticates a key it is given (api.authentication): a request there
# that carries a key is counted against its limits before the refusal is answered, so the answer
# has the `X-RateLimit-*` headers of any other, in the shape of the surface it came to.
COUNTED_PATH_PREFIXES = ("/api/v1/", "/v1/", "/v2/")


def _carries_key(request: HttpRequest) -> bool:
    return bool(request.META.get("HTTP_AUTHORIZATION") or request.META.get("HTTP_X_API_KEY"))


class InputGuardMiddleware(MiddlewareMixin):
    """Applies `refusal` to the machine paths; web pages validate through their forms, but get a 404 for a
    NUL byte or an unpaired surrogate in their address."""

    def process_request(self, request: HttpRequest) -> JsonResponse | None:
        if not request.path.startswith(MACHINE_PATH_PREFIXES):
            if _BAD_CHARACTERS.search(request.path):
                raise Http404("No such page.")  # no page's address or id holds one: the site's 404 page
            return None
        refused = refusal(request)
        if refused is None:
            return None
        if request.path.startswith(COUNTED_PATH_PREFIXES) and _carries_key(request):
            request.input_refused = refused  # type: ignore[attr-defined]  # raised by request_authenticate
            return None
        return refused.response()
