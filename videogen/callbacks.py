"""MiniMax's callback: echo its challenge, and poll a job at once when it reports a change.

The callback is not authenticated, so its content is never trusted: it only
moves the job's next poll forward, and the poll asks MiniMax itself.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from videogen.models import Generation, Status
from videogen.providers.minimax import parse_callback


@csrf_exempt
@require_POST
def minimax_callback(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "body must be JSON"}, status=400)
    challenge, update = parse_callback(body)
    if challenge is not None:
        return JsonResponse({"challenge": challenge})
    if update:
        Generation.objects.filter(provider="minimax", upstream_id=update["task_id"], status=Status.RUNNING).update(
            next_poll_at=timezone.now()
        )
    return JsonResponse({"status": "received"})
