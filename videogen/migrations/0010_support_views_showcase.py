"""Support sees the showcase in the admin, like every other model (0003 granted the models that existed then)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_GROUP = "Support"


def forwards(apps, schema_editor):
    # Default permissions are normally created after the last migration; the group needs this one now.
    app_config = apps.get_app_config("videogen")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = original or True
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = original
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=SUPPORT_GROUP).first()
    if group is not None:
        group.permissions.add(
            Permission.objects.get(content_type__app_label="videogen", codename="view_showcaseclip")
        )


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=SUPPORT_GROUP).first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(codename="view_showcaseclip"))


class Migration(migrations.Migration):
    dependencies = [
        ("videogen", "0009_showcaseclip"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
