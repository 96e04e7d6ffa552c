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


def test_an_inserted_row_is_the_row_the_orm_would_have_written(org_a, api_key_a) -> None:
    from billing.models import LedgerEntry
    from platform_api.rows import row_insert

    key, _ = api_key_a
    fields = {
        "organization": org_a,
        "api_key": key,
        "model": "hailuo-02-fast",
        "input": {"prompt": "ünïcödé", "duration": 6},
        "metadata": {"a": "1"},
        "variant_key": "hailuo-02-fast:6s:768p",
        "price_micros": 100_000,
        "webhook_events": ["generation.succeeded"],
        "deadline_at": timezone.now(),
    }
    fast = row_insert(Generation(**fields))
    slow = Generation.objects.create(**fields)
    assert fast.pk and not fast._state.adding and fast._state.db == "default"
    assert fast.public_id.startswith("gen_") and fast.public_id != slow.public_id
    ignore = {"id", "public_id", "created_at", "next_poll_at", "deadline_at"}
    stored_fast, stored_slow = Generation.objects.get(pk=fast.pk), Generation.objects.get(pk=slow.pk)
    assert {k: v for k, v in _values(stored_fast).items() if k not in ignore} == {
        k: v for k, v in _values(stored_slow).items() if k not in ignore
    }
    assert stored_fast.input == {"prompt": "ünïcödé", "duration": 6}

    entry = row_insert(
        LedgerEntry(organization=org_a, kind="grant", amount_micros=5, balance_after_micros=5, idempotency_key="ri")
    )
    assert LedgerEntry.objects.get(pk=entry.pk).public_id == entry.public_id


def test_an_insert_that_breaks_a_constraint_fails_like_the_orm(org_a) -> None:
    from django.db import IntegrityError, transaction

    from billing.models import LedgerEntry
    from platform_api.rows import row_insert

    row_insert(
        LedgerEntry(organization=org_a, kind="grant", amount_micros=1, balance_after_micros=1, idempotency_key="k")
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(
            LedgerEntry(organization=org_a, kind="grant", amount_micros=1, balance_after_micros=1, idempotency_key="k")
        )


def test_a_model_with_save_signals_is_saved_by_the_orm(org_a) -> None:
    from django.db.models import signals

    from platform_api.rows import row_insert
    from videogen.models import Transition

    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append(created)

    signals.post_save.connect(receiver, sender=Transition)
    try:
        from billing.services import credits_grant

        credits_grant(organization=org_a, amount_micros=10_000_000, kind="grant", idempotency_key="sig", reason="t")
        job = generation_create(organization=org_a, model="hailuo-02-fast", params={"prompt": "x", "duration": 6})
        seen.clear()
        row_insert(Transition(generation=job, to_status="queued", detail="test"))
    finally:
        signals.post_save.disconnect(receiver, sender=Transition)
    assert seen == [True]
