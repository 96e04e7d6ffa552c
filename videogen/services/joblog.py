"""Log records written while the pipeline works a job name the job, its organization and its provider."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from core import logcontext
from videogen.models import Generation

T = TypeVar("T")


def job_logged(step: Callable[..., T]) -> Callable[..., T]:
    """Wrap a pipeline step that takes the generation id first: its log records carry the job's fields.

    One small indexed read per step; the fields are unbound again when the step returns.
    """

    @wraps(step)
    def wrapper(generation_id: int, *args: Any, **kwargs: Any) -> T:
        row = (
            Generation.objects.filter(pk=generation_id)
            .values_list("public_id", "organization__public_id", "provider")
            .first()
        )
        job_id, organization, provider = row or (None, None, None)
        with logcontext.bound(job_id=job_id, organization=organization, provider=provider):
            return step(generation_id, *args, **kwargs)

    return wrapper
