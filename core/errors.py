"""Errors every layer shares: a parameter that broke a rule, and the API's one error shape.

`ParamError` is a domain error: services raise it with the field and the rule,
and each surface (the native API, the compatible endpoints, the web forms)
words it its own way. `ApiError` and `error_body` are the native API's JSON
error, `{"error": {"type", "code", "message", "param"}}`; the API layer
(`api.errors`) maps domain errors onto it.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions


class ParamError(Exception):
    """A request parameter broke a rule. `param` names the field, `rule` the rule."""

    def __init__(self, param: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.rule = rule
        self.message = message


class ApiError(exceptions.APIException):
    """An error with our type, code and the parameter it concerns."""

    def __init__(
        self,
        status_code: int,
        type: str,
        code: str,
        message: str,
        *,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.type, self.code, self.message, self.param, **self.extra)


def error_body(type: str, code: str, message: str, param: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": type, "code": code, "message": message, "param": param, **extra}}


def server_error_body() -> dict[str, Any]:
    """What a 500 says: that it happened, never what failed."""
    return error_body("api_error", "internal_error", "Something went wrong on our side; it has been logged.")
