"""platform_api.rows.row_get reads the same instances the ORM would, without its query compiler."""

from __future__ import annotations

import pytest
from django.db import models
from django.utils import timezone

from accounts.models import ApiKey
from platform_api.rows import row_get
from videogen.models import Generation
from videogen.services.generations import generation_create

pytestmark = pytest.mark.django_db


def _values(instance: models.Model) -> dict[str, object]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_a_generation_reads_exactly_as_the_orm_reads_it(org_a) -> None:
    from billing.services import credits_grant

    credits_grant(organization=org_a, amount_micros=10_000_000, kind="grant", idempotency_key="rows", reason="test")
    created = generation_create(
        organization=org_a,
        model="hailuo-02-fast",
        params={"prompt": "a harbour at dawn, ünïcödé", "duration": 6},
        metadata={"order": "42", "nested": "yes"},
    )
    Generation.objects.filter(pk=created.pk).update(
        video="outputs/a.mp4",
        started_at=timezone.now(),
        webhook_url="https://example.com/hook",
        webhook_events=["generation.succeeded"],
    )
    read = row_get(Generation, organization_id=org_a.pk, public_id=created.public_id)
    expected = Generation.objects.get(pk=created.pk)
    assert _values(read) == _values(expected)
    assert read.input["prompt"] == "a harbour at dawn, ünïcödé"  # JSON decoded, not a string
    assert read.metadata == {"order": "42", "nested": "yes"}
    assert read.video.name == "outputs/a.mp4"
    assert read.started_at.tzinfo is not None
    assert not read._state.adding and read._state.db == "default"
    read.status = read.status  # a normal instance: it saves like one
    read.save(update_fields=["status"])


def test_a_generation_of_another_organization_is_not_found(org_a, org_b) -> None:
    from billing.services import credits_grant

    credits_grant(organization=org_a, amount_micros=10_000_000, kind="grant", idempotency_key="rows2", reason="test")
    created = generation_create(organization=org_a, model="hailuo-02-fast", params={"prompt": "x", "duration": 6})
    assert row_get(Generation, organization_id=org_b.pk, public_id=created.public_id) is None
    assert row_get(Generation, organization_id=org_a.pk, public_id="gen_missing") is None


def test_an_api_key_comes_with_its_organization_and_revoked_keys_are_not_found(api_key_a) -> None:
    key, _ = api_key_a
    read = row_get(ApiKey, related="organization", key_hash=key.key_hash, revoked_at__isnull=True)
    assert _values(read) == _values(ApiKey.objects.get(pk=key.pk))
    assert _values(read.organization) == _values(key.organization)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert row_get(ApiKey, related="organization", key_hash=key.key_hash, revoked_at__isnull=True) is None


def test_only_is_null_conditions_are_taken_with_isnull() -> None:
    with pytest.raises(ValueError, match="revoked_at__isnull"):
        row_get(ApiKey, key_hash="x", revoked_at__isnull=False)
