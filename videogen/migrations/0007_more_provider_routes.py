"""Routes the adapters now serve: MiniMax runs minimax-hailuo-2 (as MiniMax-Hailuo-02),
AIML API runs hailuo-2.3-fast (as minimax/hailuo-2.3-fast). Each goes after the
routes already there, so existing fallback orders are unchanged.

Atlas Cloud publishes $0.10 a run for minimax/hailuo-02/fast: that route's cost,
so a 6 s hailuo-02-fast run ($0.10) never goes there at a loss."""

from django.db import migrations

NEW_ROUTES = [
    ("minimax-hailuo-2", "minimax", 15),
    ("hailuo-2.3-fast", "aimlapi", 25),
]
# (model, provider, what a run costs us there, in micro-dollars), as published.
PUBLISHED_COSTS = [("hailuo-02-fast", "atlascloud", 100_000)]


def forwards(apps, schema_editor):
    Provider = apps.get_model("videogen", "Provider")
    ProviderRoute = apps.get_model("videogen", "ProviderRoute")
    for model, name, priority in NEW_ROUTES:
        provider = Provider.objects.filter(name=name).first()
        if provider is not None:
            ProviderRoute.objects.get_or_create(model=model, provider=provider, defaults={"priority": priority})
    for model, name, cost in PUBLISHED_COSTS:
        ProviderRoute.objects.filter(model=model, provider__name=name, upstream_cost_micros=None).update(
            upstream_cost_micros=cost
        )


def backwards(apps, schema_editor):
    ProviderRoute = apps.get_model("videogen", "ProviderRoute")
    for model, name, _priority in NEW_ROUTES:
        ProviderRoute.objects.filter(model=model, provider__name=name).delete()
    for model, name, cost in PUBLISHED_COSTS:
        ProviderRoute.objects.filter(model=model, provider__name=name, upstream_cost_micros=cost).update(
            upstream_cost_micros=None
        )


class Migration(migrations.Migration):
    dependencies = [("videogen", "0006_pollers_without_lease")]

    operations = [migrations.RunPython(forwards, backwards)]
