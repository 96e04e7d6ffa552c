"""The running-jobs limit reads the credit account's open-hold count: the active-jobs index served only the old COUNT."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('videogen', '0004_active_jobs_index'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='generation',
            name='gen_org_active',
        ),
    ]
