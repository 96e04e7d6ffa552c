"""The "Support" operators' group (see videogen 0003) also views outgoing emails."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_GROUP = "Support"


def forwards(apps, schema_editor):
    # Default permissions are normally created after the last migration; the group needs this one now.
    app_config = apps.get_app_config("outbox")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = original or True
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = original
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.add(Permission.objects.get(content_type__app_label="outbox", codename="view_email"))


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name=SUPPORT_GROUP):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="outbox", codename="view_email"))


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0002_sweep_schedule"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
