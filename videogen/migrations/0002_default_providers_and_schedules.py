"""Providers, each model's default routes, and the worker's periodic tasks."""

from django.db import migrations

PROVIDERS = [
    ("minimax", "MiniMax"),
    ("segmind", "Segmind"),
    ("aimlapi", "AIML API"),
    ("atlascloud", "Atlas Cloud"),
    ("sandbox", "Sandbox (renders locally)"),
]

# model -> providers in fallback order. Routes to providers without an API key
# are skipped at run time; the sandbox serves only while no provider key is set
# (or SANDBOX_ENABLED says otherwise).
ROUTES = {
    "hailuo-02": ["minimax", "aimlapi", "atlascloud", "sandbox"],
    "hailuo-02-fast": ["minimax", "segmind", "atlascloud", "sandbox"],
    "hailuo-2.3-fast": ["minimax", "segmind", "atlascloud", "sandbox"],
    "minimax-hailuo-2": ["segmind", "sandbox"],
}

SCHEDULES = [
    ("videogen: delete expired outputs", "videogen.tasks.outputs_cleanup", "H", None),
]


def forwards(apps, schema_editor):
    Provider = apps.get_model("videogen", "Provider")
    ProviderRoute = apps.get_model("videogen", "ProviderRoute")
    Schedule = apps.get_model("django_q", "Schedule")
    providers = {}
    for name, label in PROVIDERS:
        providers[name], _ = Provider.objects.get_or_create(name=name, defaults={"label": label})
    for model, names in ROUTES.items():
        for index, name in enumerate(names):
            ProviderRoute.objects.get_or_create(
                model=model, provider=providers[name], defaults={"priority": (index + 1) * 10}
            )
    for name, func, schedule_type, minutes in SCHEDULES:
        Schedule.objects.get_or_create(
            name=name, defaults={"func": func, "schedule_type": schedule_type, "minutes": minutes, "repeats": -1}
        )


def backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("videogen", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
