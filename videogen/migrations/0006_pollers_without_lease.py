"""Polling moved out of the task queue into `manage.py poll`: no poller lease, no poll-loop schedule."""

from django.db import migrations

POLL_LOOP = "videogen.tasks.poll_loop"


def forwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=POLL_LOOP).delete()


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name="videogen: poll loop", defaults={"func": POLL_LOOP, "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("videogen", "0005_drop_active_jobs_index"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="WorkerLease"),
    ]
