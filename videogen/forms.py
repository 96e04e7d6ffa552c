"""Web forms of the generation app: they parse input; the catalog and the services judge it."""

from __future__ import annotations

from typing import Any

from django import forms

from videogen import catalog
from videogen.models import Status

FRAME_FILE_FIELDS = {"first_frame_image": "first_frame_file", "last_frame_image": "last_frame_file"}


class GenerationForm(forms.Form):
    """The generate page. Choices stay loose on purpose: `catalog.validate_params` owns the rules,
    so the page shows the same messages as the API, next to the field they name."""

    model = forms.ChoiceField(choices=[(slug, spec.name) for slug, spec in catalog.MODELS.items()])
    prompt = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    duration = forms.CharField(required=False)
    resolution = forms.CharField(required=False)
    mode = forms.CharField(required=False)
    prompt_optimizer = forms.BooleanField(required=False)
    go_fast = forms.BooleanField(required=False)
    # Upload ids (upl_...) of frames the page already uploaded; files sent with the form otherwise.
    first_frame_image = forms.CharField(required=False)
    last_frame_image = forms.CharField(required=False)
    first_frame_file = forms.FileField(required=False)
    last_frame_file = forms.FileField(required=False)

    def spec(self) -> catalog.ModelSpec:
        return catalog.MODELS[self.cleaned_data["model"]]

    def params(self, frames: dict[str, str]) -> dict[str, Any]:
        """The request for `generation_create`: only the parameters the chosen model takes.

        Without JavaScript every option is on the page, so options of other models are dropped
        here rather than refused; a mode-derived resolution is left for the catalog to fill in.
        """
        spec = self.spec()
        described = spec.describe()
        data = self.cleaned_data
        params: dict[str, Any] = {
            "prompt": data["prompt"],
            "duration": data["duration"],
            "prompt_optimizer": data["prompt_optimizer"],
        }
        if "mode" in described:
            params["mode"] = data["mode"]
        else:
            params["resolution"] = data["resolution"]
        if "go_fast" in described:
            params["go_fast"] = data["go_fast"]
        for field in catalog.IMAGE_FIELDS:
            if field in described and frames.get(field):
                params[field] = frames[field]
        return params


class UploadForm(forms.Form):
    """One frame image sent by the generate page before the form is submitted."""

    field = forms.ChoiceField(choices=[(name, name) for name in catalog.IMAGE_FIELDS])
    file = forms.FileField()


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Status.choices])
    model = forms.ChoiceField(
        required=False, choices=[("", "Any model"), *[(slug, spec.name) for slug, spec in catalog.MODELS.items()]]
    )
    q = forms.CharField(required=False, max_length=200, label="Search prompts")
