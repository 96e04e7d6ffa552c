"""What a log record is about: the request, organization, job and provider, carried in contextvars.

The request middleware binds the request id (and the organization of a signed-in
page), the pipeline binds the job it works on; `ContextFilter` copies whatever
is bound onto every record, and `JsonFormatter` writes one JSON object per line
(`LOG_FORMAT=json`).
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

FIELDS = ("request_id", "organization", "job_id", "provider")
_VARS: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"log_{name}", default=None) for name in FIELDS
}


def current() -> dict[str, str]:
    """The fields bound now, without the empty ones."""
    return {name: value for name, var in _VARS.items() if (value := var.get()) is not None}


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Bind fields for the code inside the block; what was bound before comes back after it."""
    tokens = [(_VARS[name], _VARS[name].set(value or None)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(**values: str | None) -> None:
    """Bind fields for the rest of this context: a request (the middleware binds them all afresh for each
    one), or until the enclosing `bound` block ends (the pipeline's, around a job)."""
    for name, value in values.items():
        _VARS[name].set(value or None)


class ContextFilter(logging.Filter):
    """Puts the bound fields on every record (None where unknown), so any formatter can use them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the bound fields and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: value for name in FIELDS if (value := getattr(record, name, None)) is not None})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)
