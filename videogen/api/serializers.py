"""Shapes of the native API's requests and responses, for the OpenAPI schema only.

The endpoints validate with the catalog and the services (the rules there are
richer than a serializer's); these classes describe the JSON so that
drf-spectacular can publish it. tests/api/test_schema.py checks real
responses against the published schema.
"""

from __future__ import annotations

from rest_framework import serializers

from videogen import catalog
from videogen.models import Status
from videogen.services.generations import GENERATION_EVENTS

RESOLUTIONS = sorted({res for spec in catalog.MODELS.values() for res in spec.resolutions})
MODES = sorted({mode for spec in catalog.MODELS.values() for mode, _ in spec.modes})


class ErrorDetailsSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="Broad class: invalid_request_error, authentication_error, ...")
    code = serializers.CharField(help_text="What exactly went wrong, e.g. the rule a parameter broke.")
    message = serializers.CharField(help_text="A sentence a person can read.")
    param = serializers.CharField(allow_null=True, help_text="The field (or header) at fault, when there is one.")


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorDetailsSerializer()


class GenerationInputSerializer(serializers.Serializer):
    """Model parameters; GET /api/v1/models says which each model takes and its rules.

    An optional parameter that is null or "" takes its default.
    """

    prompt = serializers.CharField(max_length=catalog.MAX_PROMPT_CHARS)
    duration = serializers.IntegerField(required=False, allow_null=True, help_text="Seconds (6 or 10 by model).")
    resolution = serializers.ChoiceField(choices=RESOLUTIONS, required=False, allow_null=True, allow_blank=True)
    mode = serializers.ChoiceField(
        choices=MODES, required=False, allow_null=True, allow_blank=True, help_text="minimax-hailuo-2 only."
    )
    prompt_optimizer = serializers.BooleanField(required=False, allow_null=True)
    go_fast = serializers.BooleanField(required=False, allow_null=True, help_text="hailuo-02-fast only.")
    first_frame_image = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="An upload id (upl_...), an https URL, a data URL or base64. Required for "
        + " and ".join(slug for slug, spec in catalog.MODELS.items() if spec.first_frame == "required")
        + ", which animate a first frame.",
    )
    last_frame_image = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class GenerationCreateSerializer(serializers.Serializer):
    model = serializers.ChoiceField(choices=list(catalog.MODELS))
    input = GenerationInputSerializer(
        required=False, help_text="Model parameters. Without `input`, give them at the top level instead."
    )
    webhook = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, help_text="An https URL that receives this job's events."
    )
    webhook_events_filter = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(GENERATION_EVENTS)),
        required=False,
        allow_null=True,
        help_text="Which of the job's events go to `webhook` (all when absent).",
    )
    metadata = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="Up to 50 keys; values are strings (numbers and booleans are kept as text).",
    )


class GenerationOutputSerializer(serializers.Serializer):
    video_url = serializers.URLField(help_text="Signed link that plays the MP4; expires.")
    download_url = serializers.URLField(help_text="Signed link that downloads the MP4; expires.")
    poster_url = serializers.URLField(allow_null=True)
    content_type = serializers.CharField()
    duration = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    size_bytes = serializers.IntegerField(allow_null=True)


class GenerationErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class GenerationPriceSerializer(serializers.Serializer):
    amount = serializers.CharField(help_text='USD, e.g. "0.10".')
    amount_micros = serializers.IntegerField()
    currency = serializers.CharField()
    charged = serializers.BooleanField(help_text="Only a succeeded generation is charged.")


class GenerationTimingsSerializer(serializers.Serializer):
    queue_seconds = serializers.FloatField(allow_null=True)
    generation_seconds = serializers.FloatField(allow_null=True)


class GenerationSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(help_text='Always "generation".')
    status = serializers.ChoiceField(choices=[s.value for s in Status])
    model = serializers.CharField()
    input = serializers.DictField(help_text="The normalized parameters; images are upload ids.")
    output = GenerationOutputSerializer(allow_null=True)
    error = GenerationErrorSerializer(allow_null=True)
    price = GenerationPriceSerializer()
    metadata = serializers.DictField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    timings = GenerationTimingsSerializer()


class GenerationListSerializer(serializers.Serializer):
    object = serializers.CharField(help_text='Always "list".')
    data = GenerationSerializer(many=True)  # type: ignore[assignment]  # a field named "data"
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as `cursor` to get the next page.")


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JPG or PNG, at most 20 MB, shorter side over 300 px, ratio 2:5 to 5:2.")


class UploadSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Use it as first_frame_image or last_frame_image.")
    object = serializers.CharField(help_text='Always "upload".')
    url = serializers.URLField(help_text="Signed link to the stored image; expires.")
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class CatalogModelPriceSerializer(serializers.Serializer):
    variant = serializers.CharField()
    model = serializers.CharField()
    duration = serializers.IntegerField()
    resolution = serializers.CharField()
    mode = serializers.CharField(allow_null=True)
    price = serializers.CharField()
    price_micros = serializers.IntegerField()
    currency = serializers.CharField()


class CatalogModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(help_text='Always "model".')
    name = serializers.CharField()
    description = serializers.CharField()
    parameters = serializers.DictField(help_text="Each parameter's type, allowed values, default and rules.")
    prices = CatalogModelPriceSerializer(many=True)


class ModelListSerializer(serializers.Serializer):
    object = serializers.CharField(help_text='Always "list".')
    data = CatalogModelSerializer(many=True)  # type: ignore[assignment]  # a field named "data"
