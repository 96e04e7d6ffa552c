from __future__ import annotations

from django import forms

from webhooks.models import SUBSCRIBABLE_TYPES


class EndpointForm(forms.Form):
    # A text field, not URLField: the service's URL rules give the one error message customers see.
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        widget=forms.TextInput(
            attrs={"inputmode": "url", "autocomplete": "off", "placeholder": "https://example.com/webhooks/hailuo"}
        ),
        help_text="A public http(s) URL. We POST each event to it as JSON, signed per Standard Webhooks.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events to send",
        choices=[(t, t) for t in SUBSCRIBABLE_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave every box unchecked to receive all events, including types added later.",
    )
