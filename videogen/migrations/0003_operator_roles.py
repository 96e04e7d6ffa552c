"""Operator permissions and the "Support" group.

Support sees everything in the admin and may refund a generation, but changes
nothing else (in particular no price rule). The custom permissions below are
what the admin's operations check; superusers have them all.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_GROUP = "Support"

# (app label, model, codename, name)
CUSTOM_PERMISSIONS = [
    ("videogen", "generation", "refund_generation", "Can refund a generation"),
    ("videogen", "generation", "cancel_generation", "Can cancel a generation"),
    ("videogen", "generation", "retry_generation", "Can retry a generation on another provider"),
    ("billing", "creditaccount", "adjust_credit", "Can adjust an organization's credit"),
    ("accounts", "apikey", "revoke_apikey", "Can revoke an API key"),
]
SUPPORT_EXTRA = [("videogen", "refund_generation")]
# Support views every model of these apps (plus auth's groups and django-q's tasks).
VIEWED_APPS = ["accounts", "billing", "videogen", "webhooks", "platform_api", "django_q", "auth"]


def _ensure_default_permissions(apps):
    # Default permissions are normally created after the last migration; the group needs them now.
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = original


def forwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    _ensure_default_permissions(apps)
    for app_label, model, codename, name in CUSTOM_PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    viewing = Permission.objects.filter(content_type__app_label__in=VIEWED_APPS, codename__startswith="view_")
    extra = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in SUPPORT_EXTRA
    ]
    group.permissions.add(*viewing, *extra)


def backwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name=SUPPORT_GROUP).delete()
    for app_label, _, codename, _ in CUSTOM_PERMISSIONS:
        Permission.objects.filter(content_type__app_label=app_label, codename=codename).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0001_initial"),
        ("billing", "0002_default_price_rules"),
        ("webhooks", "0002_endpoints_deliveries"),
        ("videogen", "0002_default_providers_and_schedules"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        # So that Support also views the organizations' API limits.
        ("platform_api", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
