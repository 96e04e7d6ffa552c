"""Error tracking with Sentry, switched on by SENTRY_DSN (nothing is initialised without it).

Web requests come through the Django integration. In the worker, django-q2
catches a task's exception and keeps only its text, so the task signals
report a failed task from the worker process, with the task's name and
function as tags and the traceback as the message; django-q2's own "Failed"
log line is left out so a failure is reported once.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk

TASK_LOGGER = "django-q"


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Call from settings, before Django is set up (so the Django integration sees every request)."""
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import ignore_logger

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
    )
    ignore_logger(TASK_LOGGER)


def task_started(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    scope = sentry_sdk.get_isolation_scope()
    scope.set_tag("task", task.get("name"))
    scope.set_tag("task.func", str(task.get("func")))


def task_finished(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    if task.get("success", True):
        return
    result = str(task.get("result") or "")
    first_line = result.split(" : Traceback", 1)[0][:300] or "failed"
    sentry_sdk.capture_message(
        f"Task {task.get('func')} failed: {first_line}",
        level="error",
        fingerprint=["django-q", str(task.get("func"))],
        extras={"task": task.get("name"), "traceback": result[-8000:]},
    )


def connect_task_signals() -> None:
    from django_q.signals import post_execute_in_worker, pre_execute

    pre_execute.connect(task_started, dispatch_uid="core.sentry.task_started")
    post_execute_in_worker.connect(task_finished, dispatch_uid="core.sentry.task_finished")
