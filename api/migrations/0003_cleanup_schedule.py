"""Purge idempotency keys past 24 hours and ended rate-limit windows, hourly."""

from django.db import migrations

NAME = "platform_api: cleanup"


def forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=NAME, defaults={"func": "videogen.api.tasks.api_cleanup", "schedule_type": "H", "repeats": -1}
    )


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("platform_api", "0002_unlogged_rate_limit_counters"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
