"""Web pages of the generation app: landing, pricing, dashboard, generate, job pages and history.

Every page after sign-in reads through the active organization, so another
organization's job is a 404. Submissions go through the same services as the
API (source "web"), so the page shows the API's rules and messages.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import MemberRequest, org_required
from accounts.models import Organization
from billing import selectors as billing_selectors
from billing.errors import InsufficientCredits, PricingError, SpendLimitExceeded
from billing.money import format_usd, usd_string
from core.errors import ParamError
from videogen import catalog, charts, selectors
from videogen.forms import FRAME_FILE_FIELDS, GenerationForm, HistoryFilterForm, UploadForm
from videogen.models import FINAL_STATUSES, Generation, Source, Status
from videogen.presenters import generation_output
from videogen.services import generations, retention, sharing, uploads
from videogen.services.files import signed_url

RECENT_COUNT = 6
HISTORY_PAGE_SIZE = 20
DEFAULT_MODEL = next(iter(catalog.MODELS))

STATUS_LABELS: dict[str, str] = {
    Status.QUEUED: "Queued",
    Status.SUBMITTING: "Starting",
    Status.RUNNING: "Generating",
    Status.SUCCEEDED: "Ready",
    Status.FAILED: "Failed",
    Status.CANCELED: "Canceled",
    Status.TIMED_OUT: "Timed out",
}
STATUS_HINTS: dict[str, str] = {
    Status.QUEUED: "Waiting for a free slot on the model. This page updates by itself.",
    Status.SUBMITTING: "Sending your request to the model. This page updates by itself.",
    Status.RUNNING: "The model is rendering your video. This page updates by itself.",
}
# Failure codes in plain words; anything else shows the provider's own message.
FAILURE_EXPLANATIONS = {
    "content_policy": "The model's content filter refused this request. Try rewording the prompt or using "
    "another image.",
    "content_blocked": "The model's content filter refused this request. Try rewording the prompt or using "
    "another image.",
    "no_provider_available": "Every server that runs this model was busy or unavailable, so the video could not "
    "be started. Please try again in a few minutes.",
    "deadline_exceeded": "The video took far longer than usual, so we stopped waiting for it.",
    "output_unavailable": "The model finished, but its video could not be downloaded.",
    "invalid_output": "The model sent back a damaged video, so we did not keep it.",
    "submission_interrupted": "We lost contact with the model while sending your request.",
    "canceled": "This generation was canceled before it finished.",
}


# --- Public pages ------------------------------------------------------------


SHOWCASE_COUNT = 6


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    clips = _showcase()
    return render(request, "home.html", {"models": _models_with_prices(clips), "showcase": clips[:SHOWCASE_COUNT]})


def pricing(request: HttpRequest) -> HttpResponse:
    clips = _showcase()
    context = {"models": _models_with_prices(clips), "showcase": clips[:SHOWCASE_COUNT]}
    return render(request, "videogen/pricing.html", context)


def _showcase() -> list[dict[str, Any]]:
    """The operators' example videos with links to play them."""
    return [
        {
            "clip": clip,
            "model_name": _model_name(clip.model),
            "video_url": signed_url(clip.video.name),
            "poster_url": signed_url(clip.poster.name) if clip.poster else "",
        }
        for clip in selectors.showcase_list()
    ]


def _models_with_prices(clips: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Every model with its variants on sale, priced by the rules that charge, and its first example clip."""
    examples: dict[str, dict[str, Any]] = {}
    for item in clips or []:
        examples.setdefault(item["clip"].model, item)
    by_model: dict[str, list[dict[str, Any]]] = {}
    for price in billing_selectors.price_list(catalog.all_variants()):
        by_model.setdefault(price["model"], []).append(price)
    models = []
    for slug, spec in catalog.MODELS.items():
        prices = by_model.get(slug, [])
        models.append(
            {
                "slug": slug,
                "spec": spec,
                "prices": prices,
                "from_micros": min((p["price_micros"] for p in prices), default=None),
                "first_frame_required": spec.first_frame == "required",
                "example": examples.get(slug),
            }
        )
    return models


# --- Dashboard -----------------------------------------------------------------


@org_required
def dashboard(request: MemberRequest) -> HttpResponse:
    organization = request.membership.organization
    recent = list(selectors.generations_list(organization)[:RECENT_COUNT])
    usage = charts.daily_usage(organization)
    context = {
        "organization": organization,
        "balance": billing_selectors.balance_get(organization),
        "recent": [_card(g) for g in recent],
        # Until the first video of their own, a new customer sees what the models make.
        "showcase": [] if recent else _showcase()[:3],
        "usage": usage,
        "chart": charts.usage_chart_svg(usage),
        "active_count": selectors.generations_list(organization).filter(status__in=_active()).count(),
    }
    return render(request, "dashboard.html", context)


def _active() -> list[str]:
    return [s for s in Status if s not in FINAL_STATUSES]


def _card(generation: Generation) -> dict[str, Any]:
    """What a list of generations shows about one of them."""
    has_output = generation.status == Status.SUCCEEDED and generation.poster and not generation.output_deleted_at
    return {
        "generation": generation,
        "label": STATUS_LABELS.get(generation.status, generation.status),
        "model_name": _model_name(generation.model),
        "prompt": generation.input.get("prompt", ""),
        "poster_url": signed_url(generation.poster.name) if has_output else "",
        "video_url": signed_url(generation.video.name) if has_output and generation.video else "",
        "deletes_at": deletes_at(generation) if has_output else None,
    }


def deletes_at(generation: Generation) -> datetime | None:
    """When the retention clean-up removes this job's video (None: kept until deleted by hand)."""
    days = settings.OUTPUT_RETENTION_DAYS
    if not days or generation.status != Status.SUCCEEDED or not generation.completed_at:
        return None
    return generation.completed_at + timedelta(days=days)


def _model_name(slug: str) -> str:
    spec = catalog.MODELS.get(slug)
    return spec.name if spec else slug


# --- Generate ------------------------------------------------------------------


@org_required
def generate(request: MemberRequest) -> HttpResponse:
    organization = request.membership.organization
    if request.method != "POST":
        model = request.GET.get("model", "")
        initial = {"model": model if model in catalog.MODELS else DEFAULT_MODEL}
        return _generate_page(request, GenerationForm(initial=initial), frames={})
    form = GenerationForm(request.POST, request.FILES)
    frames = {field: request.POST.get(field, "").strip() for field in catalog.IMAGE_FIELDS}
    if not form.is_valid():
        messages.error(request, "The video was not started: please check the highlighted fields.")
        return _generate_page(request, form, frames)
    try:
        frames = _store_frame_files(organization, form, frames)
        generation = generations.generation_create(
            organization=organization,
            model=form.cleaned_data["model"],
            params=form.params(frames),
            source=Source.WEB,
            user=request.user,
        )
    except ParamError as exc:
        field = exc.param if exc.param in form.fields else None
        form.add_error(field, _param_message(exc))
        messages.error(request, "The video was not started: please check the highlighted fields.")
    except InsufficientCredits as exc:
        messages.error(request, str(exc))
        return _generate_page(request, form, frames, credit_short=exc)
    except (PricingError, SpendLimitExceeded) as exc:
        form.add_error(None, str(exc))
        messages.error(request, str(exc))
    else:
        # The job page removes this message once the job is final: the hold is then charged or released.
        messages.success(
            request,
            f"Your video is on its way. {format_usd(generation.price_micros)} is on hold until it is ready.",
            extra_tags="until-final",
        )
        return redirect("generation", public_id=generation.public_id)
    return _generate_page(request, form, frames)


@org_required
@require_GET
def generation_again(request: MemberRequest, public_id: str) -> HttpResponse:
    """The generate page filled in with a previous job's inputs."""
    generation = selectors.generation_get(request.membership.organization, public_id)
    given = generation.input
    initial = {
        "model": generation.model if generation.model in catalog.MODELS else DEFAULT_MODEL,
        "prompt": given.get("prompt", ""),
        "duration": given.get("duration"),
        "resolution": given.get("resolution"),
        "mode": given.get("mode", ""),
        "prompt_optimizer": given.get("prompt_optimizer", True),
        "go_fast": given.get("go_fast", True),
    }
    frames = {field: given.get(field) or "" for field in catalog.IMAGE_FIELDS}
    continued = request.GET.get("first_frame", "")
    if continued.startswith("upl_"):
        # "Continue from the last frame": that frame starts the new video; the old last frame would not fit.
        frames = {"first_frame_image": continued, "last_frame_image": ""}
        messages.info(
            request,
            "The last frame of your earlier video is the first frame of this one. Describe what happens next, "
            "then generate.",
        )
    else:
        messages.info(request, "Filled in with the settings of your earlier video. Change anything, then generate.")
    return _generate_page(request, GenerationForm(initial=initial), frames)


@org_required
@require_POST
def generation_continue(request: MemberRequest, public_id: str) -> HttpResponse:
    """Take the video's last frame as a new upload and open the generate page with it as the first frame."""
    generation = selectors.generation_get(request.membership.organization, public_id)
    try:
        upload = uploads.upload_from_last_frame(generation=generation)
    except ParamError as exc:
        messages.error(request, f"Could not continue from this video: {_param_message(exc)}")
        return redirect("generation", public_id=generation.public_id)
    return redirect(f"{reverse('generation-again', args=[generation.public_id])}?first_frame={upload.public_id}")


def _store_frame_files(organization: Organization, form: GenerationForm, frames: dict[str, str]) -> dict[str, str]:
    """Frames sent as files with the form (no JavaScript) become uploads; raises ParamError naming the field."""
    stored = dict(frames)
    described = form.spec().describe()
    for field, file_field in FRAME_FILE_FIELDS.items():
        upload = form.cleaned_data.get(file_field)
        if upload and field in described:
            stored[field] = uploads.upload_create(organization=organization, data=upload.read(), field=field).public_id
    return stored


def _param_message(exc: ParamError) -> str:
    """The catalog's message without its "field: " prefix, since the page shows it next to the field."""
    message = exc.message
    prefix = f"{exc.param}: "
    if message.startswith(prefix):
        message = message[len(prefix) :]
    return message[:1].upper() + message[1:]


def _generate_page(
    request: MemberRequest,
    form: GenerationForm,
    frames: dict[str, str],
    *,
    credit_short: InsufficientCredits | None = None,
) -> HttpResponse:
    organization = request.membership.organization
    balance = billing_selectors.balance_get(organization)
    models = _models_with_prices()
    choices = _current_choices(form)
    variant = _variant(choices)
    prices = {p["variant"]: p["price_micros"] for m in models for p in m["prices"]}
    context = {
        "form": form,
        "models": models,
        "choices": choices,
        "options": _all_options(),
        "frame_slots": _frame_slots(organization, form, frames, choices["model"]),
        "price_now": prices.get(variant.key) if variant else None,
        "variant_desc": _variant_desc(variant) if variant else "",
        "balance": balance,
        "credit_short": credit_short,
        "max_prompt": catalog.MAX_PROMPT_CHARS,
        "page_data": {
            "models": {slug: {"name": spec.name, "params": spec.describe()} for slug, spec in catalog.MODELS.items()},
            "prices": {
                p["variant"]: {"micros": p["price_micros"], "display": format_usd(p["price_micros"])}
                for m in models
                for p in m["prices"]
            },
            "available_micros": balance.available_micros,
            "available_display": format_usd(balance.available_micros),
        },
    }
    return render(request, "videogen/generate.html", context)


def _current_choices(form: GenerationForm) -> dict[str, Any]:
    """The options to show as chosen: what was posted, else the initial values, else the model's defaults."""
    if form.is_bound:
        source: Any = form.data
        booleans = {name: name in form.data for name in ("prompt_optimizer", "go_fast")}
    else:
        source = form.initial
        booleans = {name: bool(form.initial.get(name, True)) for name in ("prompt_optimizer", "go_fast")}
    slug = source.get("model") if source.get("model") in catalog.MODELS else DEFAULT_MODEL
    spec = catalog.MODELS[slug]
    return {
        "model": slug,
        "duration": str(source.get("duration") or spec.default_duration),
        "resolution": str(source.get("resolution") or spec.default_resolution),
        "mode": source.get("mode") or (spec.modes[0][0] if spec.modes else ""),
        **booleans,
    }


def _all_options() -> dict[str, list[dict[str, str]]]:
    """Every value any model takes; the page's script hides those the chosen model does not."""
    specs = list(catalog.MODELS.values())
    durations = sorted({d for spec in specs for d in spec.durations})
    resolutions = sorted({r for spec in specs for r in spec.resolutions}, key=lambda r: int(r.rstrip("p")))
    modes = {mode: resolution for spec in specs for mode, resolution in spec.modes}
    return {
        "durations": [{"value": str(d), "label": f"{d} s"} for d in durations],
        "resolutions": [{"value": r, "label": r} for r in resolutions],
        "modes": [{"value": m, "label": m.capitalize(), "resolution": r} for m, r in modes.items()],
    }


def _variant(choices: dict[str, Any]) -> catalog.Variant | None:
    spec = catalog.MODELS[choices["model"]]
    if not choices["duration"].isdigit():
        return None
    if spec.modes:
        resolution = dict(spec.modes).get(choices["mode"])
        return catalog.Variant(spec.slug, int(choices["duration"]), resolution, choices["mode"]) if resolution else None
    return catalog.Variant(spec.slug, int(choices["duration"]), choices["resolution"])


def _variant_desc(variant: catalog.Variant) -> str:
    parts = [_model_name(variant.model), f"{variant.duration} s", variant.resolution]
    if variant.mode:
        parts.append(variant.mode.capitalize())
    return " · ".join(parts)


def _frame_slots(
    organization: Organization, form: GenerationForm, frames: dict[str, str], model: str
) -> list[dict[str, Any]]:
    previews = _frames_preview(organization, frames)
    spec = catalog.MODELS[model]
    titles = {"first_frame_image": "First frame", "last_frame_image": "Last frame"}
    return [
        {
            "field": field,
            "file_field": FRAME_FILE_FIELDS[field],
            "title": titles[field],
            "required": field == "first_frame_image" and spec.first_frame == "required",
            "preview": previews.get(field),
            "errors": form.errors.get(field, []) + form.errors.get(FRAME_FILE_FIELDS[field], []),
        }
        for field in catalog.IMAGE_FIELDS
    ]


def _frames_preview(organization: Organization, frames: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Frames already uploaded (kept across a re-shown form or from an earlier job), with preview links."""
    previews = {}
    for field in catalog.IMAGE_FIELDS:
        public_id = frames.get(field) or ""
        if not public_id.startswith("upl_"):
            continue
        try:
            upload = selectors.upload_get(organization, public_id)
        except Http404:
            continue
        previews[field] = {
            "id": upload.public_id,
            "url": signed_url(upload.file.name),
            "width": upload.width,
            "height": upload.height,
        }
    return previews


@org_required
@require_POST
def frame_upload(request: MemberRequest) -> JsonResponse:
    """The generate page sends each frame here as soon as it is chosen; answers its upload id or the rule broken."""
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        field = request.POST.get("field") if request.POST.get("field") in catalog.IMAGE_FIELDS else "file"
        return JsonResponse({"error": {"param": field, "message": "Choose a JPG or PNG image."}}, status=400)
    field = form.cleaned_data["field"]
    try:
        upload = uploads.upload_create(
            organization=request.membership.organization, data=form.cleaned_data["file"].read(), field=field
        )
    except ParamError as exc:
        return JsonResponse({"error": {"param": exc.param, "message": _param_message(exc)}}, status=400)
    return JsonResponse(
        {
            "id": upload.public_id,
            "field": field,
            "width": upload.width,
            "height": upload.height,
            "preview_url": signed_url(upload.file.name),
        },
        status=201,
    )


# --- Job page --------------------------------------------------------------------


@org_required
def generation_detail(request: MemberRequest, public_id: str) -> HttpResponse:
    generation = selectors.generation_get(request.membership.organization, public_id)
    return render(request, "videogen/generation.html", _job_context(generation))


@org_required
@require_GET
def generation_status(request: MemberRequest, public_id: str) -> JsonResponse:
    """The live part of the job page, polled by its script until the job is final."""
    generation = selectors.generation_get(request.membership.organization, public_id)
    context = _job_context(generation)
    html = render_to_string("videogen/_generation_live.html", context, request=request)
    response = JsonResponse(
        {"status": generation.status, "label": context["label"], "final": generation.is_final, "html": html}
    )
    response["Cache-Control"] = "no-store"
    return response


@org_required
@require_POST
def generation_cancel(request: MemberRequest, public_id: str) -> HttpResponse:
    generation = selectors.generation_get(request.membership.organization, public_id)
    if generations.generation_cancel(generation=generation, reason="Canceled by the customer."):
        messages.success(
            request, f"Canceled. Nothing was charged: the {format_usd(generation.price_micros)} hold was released."
        )
    else:
        generation.refresh_from_db()
        label = STATUS_LABELS.get(generation.status, generation.status).lower()
        messages.warning(request, f"This generation had already finished ({label}), so there was nothing to cancel.")
    return redirect("generation", public_id=generation.public_id)


@org_required
@require_POST
def generation_output_delete(request: MemberRequest, public_id: str) -> HttpResponse:
    """Delete the video and poster now; the job and its charge stay on record."""
    generation = selectors.generation_get(request.membership.organization, public_id)
    if retention.output_delete(generation=generation):
        messages.success(request, "Deleted the video and its poster from our storage. The job stays in your history.")
    else:
        messages.info(request, "There was no stored video to delete.")
    return redirect("generation", public_id=generation.public_id)


@org_required
@require_POST
def generation_share(request: MemberRequest, public_id: str) -> HttpResponse:
    generation = selectors.generation_get(request.membership.organization, public_id)
    try:
        sharing.generation_share(generation=generation)
    except ValueError:
        messages.error(request, "Only a stored video can be shared.")
    else:
        messages.success(request, "Anyone with the link can now watch this video and read its prompt.")
    return redirect("generation", public_id=generation.public_id)


@org_required
@require_POST
def generation_unshare(request: MemberRequest, public_id: str) -> HttpResponse:
    generation = selectors.generation_get(request.membership.organization, public_id)
    sharing.generation_unshare(generation=generation)
    messages.success(request, "The share link no longer works.")
    return redirect("generation", public_id=generation.public_id)


@require_GET
def shared(request: HttpRequest, token: str) -> HttpResponse:
    """The public, read-only page of a shared video (no sign-in)."""
    generation = sharing.shared_generation_get(token)
    context = {
        "generation": generation,
        "model_name": _model_name(generation.model),
        "output": generation_output(generation),
    }
    response = render(request, "videogen/shared.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response


def _job_context(generation: Generation) -> dict[str, Any]:
    end = generation.completed_at or timezone.now()
    elapsed = max(timedelta(0), end - generation.created_at)
    explanation = details = ""
    if generation.status in {Status.FAILED, Status.TIMED_OUT, Status.CANCELED}:
        explanation = FAILURE_EXPLANATIONS.get(generation.failure_code, "")
        # Codes we cannot put in plain words keep the provider's own message.
        if not explanation:
            explanation = "The model could not make this video."
            details = generation.failure_message
    return {
        "generation": generation,
        "model_name": _model_name(generation.model),
        "label": STATUS_LABELS.get(generation.status, generation.status),
        "hint": STATUS_HINTS.get(generation.status, ""),
        "output": generation_output(generation),
        "elapsed_seconds": int(elapsed.total_seconds()),
        "elapsed_display": _duration_text(int(elapsed.total_seconds())),
        "explanation": explanation,
        "details": details,
        "frames": _frames_preview(generation.organization, generation.input),
        "steps": _steps(generation.status),
        "deletes_at": deletes_at(generation),
        "retention_days": settings.OUTPUT_RETENTION_DAYS,
    }


def _duration_text(seconds: int) -> str:
    """ "42 s", "3 min 5 s", as the page's script also writes it."""
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60} s"


def _steps(status: str) -> list[dict[str, str]]:
    """The progress line: queued, generating, finished; each step done, current or still to come."""
    current = 3 if status in FINAL_STATUSES else 1 if status == Status.RUNNING else 0
    last = "Ready" if status in {Status.SUCCEEDED, *_active()} else STATUS_LABELS[status]
    steps = []
    for index, name in enumerate(["Queued", "Generating", last]):
        state = "done" if index < current else "current" if index == current else "todo"
        steps.append({"name": name, "state": state})
    return steps


# --- Usage download ----------------------------------------------------------------

USAGE_CSV_HEADER = [
    "created_utc",
    "generation",
    "model",
    "duration_s",
    "resolution",
    "mode",
    "source",
    "status",
    "charged_usd",
    "completed_utc",
]


class _Echo:
    """A file-like object whose write returns the line, for streaming csv rows (Django's documented pattern)."""

    def write(self, value: str) -> str:
        return value


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


@org_required
@require_GET
def usage_csv(request: MemberRequest) -> StreamingHttpResponse:
    """Every generation of the organization, oldest first, with what it cost (charged only when it succeeded)."""
    organization = request.membership.organization
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(USAGE_CSV_HEADER)
        for generation in selectors.generations_list(organization).order_by("created_at", "id").iterator():
            given = generation.input
            charged = generation.price_micros if generation.status == Status.SUCCEEDED else 0
            yield writer.writerow(
                [
                    _utc(generation.created_at),
                    generation.public_id,
                    generation.model,
                    given.get("duration", ""),
                    given.get("resolution", ""),
                    given.get("mode", ""),
                    generation.source,
                    generation.status,
                    usd_string(charged),
                    _utc(generation.completed_at),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    filename = f"hailuo-studio-usage-{organization.slug}-{timezone.now():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- History ---------------------------------------------------------------------


@org_required
def history(request: MemberRequest) -> HttpResponse:
    organization = request.membership.organization
    form = HistoryFilterForm(request.GET or None)
    jobs = selectors.generations_list(organization)
    filtered = False
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            jobs = jobs.filter(status=data["status"])
        if data["model"]:
            jobs = jobs.filter(model=data["model"])
        if data["q"].strip():
            jobs = jobs.filter(input__prompt__icontains=data["q"].strip())
        filtered = any(data.values())
    page = Paginator(jobs, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    view = "table" if request.GET.get("view") == "table" else "grid"
    views_query = {}
    for name in ("grid", "table"):
        other = query.copy()
        other["view"] = name
        views_query[name] = other.urlencode()
    context = {
        "view": view,
        "views_query": views_query,
        "form": form,
        "page": page,
        "cards": [_card(g) for g in page.object_list],
        "filtered": filtered,
        "query": query.urlencode(),
        "has_any": filtered or page.paginator.count > 0,
        "retention_days": settings.OUTPUT_RETENTION_DAYS,
    }
    return render(request, "videogen/history.html", context)
