from __future__ import annotations


class WebhookError(Exception):
    """A request about webhooks we refuse; `param` names the field (or None), `message` says why."""

    def __init__(self, param: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.code = code
        self.message = message
