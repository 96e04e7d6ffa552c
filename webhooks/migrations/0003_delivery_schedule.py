"""The worker's periodic webhook delivery loop (retries are due seconds to hours after a failure)."""

from django.db import migrations

NAME = "webhooks: delivery loop"


def forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=NAME,
        defaults={"func": "webhooks.tasks.deliveries_loop", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_endpoints_deliveries"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
