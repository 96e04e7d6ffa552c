"""Count each account's open holds (one per job accepted and not finished) next to the amount they hold."""

from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_open_holds(apps, schema_editor):
    CreditAccount = apps.get_model("billing", "CreditAccount")
    Hold = apps.get_model("billing", "Hold")
    open_holds = (
        Hold.objects.filter(organization_id=OuterRef("organization_id"), status="open")
        .order_by()
        .values("organization_id")
        .annotate(count=Count("id"))
        .values("count")
    )
    CreditAccount.objects.update(open_holds=Coalesce(Subquery(open_holds), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_default_price_rules"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditaccount",
            name="open_holds",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_open_holds, migrations.RunPython.noop),
    ]
