"""Hailuo 2.3 (not fast): its prices and the routes providers publish for it.

MiniMax runs it as MiniMax-Hailuo-2.3 (text or a first frame; 768P 6/10 s,
1080P 6 s), AIML API as minimax/hailuo-2.3, Atlas Cloud as
minimax/hailuo-2.3/i2v-standard (768p from an image, $0.28 a run, recorded as
the route's cost); the sandbox comes last, as for every model. Segmind's pages
show no such model, so it has no Segmind route.

Prices are about 1.4 times the upstream cost, as for the other models, and
above every route's cost. Rows are written literally so this migration does
not change when the catalog code does.
"""

from django.db import migrations

MODEL = "hailuo-2.3"
# (duration, resolution, upstream cost, price), in micro-dollars.
PRICE_RULES = [
    (6, "768p", 280_000, 400_000),
    (10, "768p", 560_000, 780_000),
    (6, "1080p", 490_000, 690_000),
]
# (provider, priority, what a run costs us there as published, or None).
ROUTES = [
    ("minimax", 10, None),
    ("aimlapi", 20, None),
    ("atlascloud", 30, 280_000),
    ("sandbox", 40, None),
]


def forwards(apps, schema_editor):
    PriceRule = apps.get_model("billing", "PriceRule")
    Provider = apps.get_model("videogen", "Provider")
    ProviderRoute = apps.get_model("videogen", "ProviderRoute")
    for duration, resolution, cost, price in PRICE_RULES:
        PriceRule.objects.get_or_create(
            model=MODEL,
            duration=duration,
            resolution=resolution,
            mode="",
            defaults={"price_micros": price, "upstream_cost_micros": cost},
        )
    for name, priority, cost in ROUTES:
        provider = Provider.objects.filter(name=name).first()
        if provider is not None:
            ProviderRoute.objects.get_or_create(
                model=MODEL, provider=provider, defaults={"priority": priority, "upstream_cost_micros": cost}
            )


def backwards(apps, schema_editor):
    PriceRule = apps.get_model("billing", "PriceRule")
    ProviderRoute = apps.get_model("videogen", "ProviderRoute")
    ProviderRoute.objects.filter(model=MODEL).delete()
    PriceRule.objects.filter(model=MODEL).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("videogen", "0012_generation_source_fal"),
        ("billing", "0002_default_price_rules"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
