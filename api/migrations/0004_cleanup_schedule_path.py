"""The hourly cleanup task moved with the API plumbing: point its schedule at the new dotted path."""

from django.db import migrations

NAME = "platform_api: cleanup"
OLD = "videogen.api.tasks.api_cleanup"
NEW = "api.tasks.api_cleanup"


def forwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=OLD).update(func=NEW)


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=NEW).update(func=OLD)


class Migration(migrations.Migration):
    dependencies = [("platform_api", "0003_cleanup_schedule")]

    operations = [migrations.RunPython(forwards, backwards)]
