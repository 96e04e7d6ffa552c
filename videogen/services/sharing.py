"""Public share links: a read-only page with a job's video and prompt, for anyone who has the link.

A link works only while the video is stored, so it expires with the video (retention or deletion); the
customer can revoke it sooner, and sharing again makes a new link.
"""

from __future__ import annotations

import secrets

from django.http import Http404

from videogen.models import Generation, Status


def generation_share(*, generation: Generation) -> str:
    """Turn the job's share link on; returns its token (the existing one when already shared)."""
    if generation.status != Status.SUCCEEDED or not generation.video or generation.output_deleted_at:
        raise ValueError("only a stored video can be shared")
    token = secrets.token_urlsafe(24)
    # Conditional: two clicks at once end with one link, not two.
    Generation.objects.filter(pk=generation.pk, share_token="").update(share_token=token)
    generation.refresh_from_db(fields=["share_token"])
    return generation.share_token


def generation_unshare(*, generation: Generation) -> None:
    """Revoke the share link: the page it opened answers 404 from now on."""
    Generation.objects.filter(pk=generation.pk).update(share_token="")
    generation.share_token = ""


def shared_generation_get(token: str) -> Generation:
    """The job a share link opens; 404 when the link was revoked or the video is no longer stored."""
    generation = (
        Generation.objects.filter(share_token=token, status=Status.SUCCEEDED, output_deleted_at=None)
        .exclude(share_token="")
        .exclude(video="")
        .first()
    )
    if generation is None:
        raise Http404("This link no longer works.")
    return generation
