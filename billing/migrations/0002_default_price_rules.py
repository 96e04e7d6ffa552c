"""Default prices for every catalog variant, in micro-dollars.

hailuo-02-fast 6 s sells at $0.10 a run as on the seed pages; the others are
priced at roughly 1.4x their upstream cost. Rows are written literally so
this migration does not change when the catalog code does.
"""

from django.db import migrations

# (model, duration, resolution, mode, upstream cost, price)
DEFAULT_RULES = [
    ("hailuo-02-fast", 6, "512p", "", 70_000, 100_000),
    ("hailuo-02-fast", 10, "512p", "", 120_000, 170_000),
    ("hailuo-02", 6, "768p", "", 200_000, 280_000),
    ("hailuo-02", 10, "768p", "", 400_000, 560_000),
    ("hailuo-02", 6, "1080p", "", 350_000, 490_000),
    ("hailuo-2.3-fast", 6, "768p", "", 130_000, 190_000),
    ("hailuo-2.3-fast", 10, "768p", "", 220_000, 320_000),
    ("hailuo-2.3-fast", 6, "1080p", "", 230_000, 330_000),
    ("minimax-hailuo-2", 6, "768p", "standard", 200_000, 280_000),
    ("minimax-hailuo-2", 6, "1080p", "pro", 350_000, 490_000),
]


def add_rules(apps, schema_editor):
    PriceRule = apps.get_model("billing", "PriceRule")
    for model, duration, resolution, mode, cost, price in DEFAULT_RULES:
        PriceRule.objects.get_or_create(
            model=model,
            duration=duration,
            resolution=resolution,
            mode=mode,
            defaults={"price_micros": price, "upstream_cost_micros": cost, "active": True},
        )


def remove_rules(apps, schema_editor):
    PriceRule = apps.get_model("billing", "PriceRule")
    for model, duration, resolution, mode, _cost, _price in DEFAULT_RULES:
        PriceRule.objects.filter(model=model, duration=duration, resolution=resolution, mode=mode).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(add_rules, remove_rules)]
