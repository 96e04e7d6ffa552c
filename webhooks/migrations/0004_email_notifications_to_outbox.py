"""The emails sent so far become sent outbox emails under the same keys, so none is sent again."""

from django.db import migrations


def forwards(apps, schema_editor):
    EmailNotification = apps.get_model("webhooks", "EmailNotification")
    Email = apps.get_model("outbox", "Email")
    for sent in EmailNotification.objects.order_by("pk").iterator():
        Email.objects.get_or_create(
            key=sent.key,
            defaults={
                "kind": sent.kind,
                "to": sent.recipients,
                "subject": sent.subject,
                "body": "",
                "status": "sent",
                "attempt_count": 1,
                "next_attempt_at": None,
                "created_at": sent.created_at,
                "sent_at": sent.created_at,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_delivery_schedule"),
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.DeleteModel(name="EmailNotification"),
    ]
