"""Rate-limit counters need no crash safety: on PostgreSQL their table skips the write-ahead log.

An unlogged table makes the per-request counter update cheap (no WAL flush at commit);
after a crash the table is empty, which only resets the current minute's counts.
"""

from django.db import migrations


def unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE platform_api_ratelimitcounter SET UNLOGGED")


def logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE platform_api_ratelimitcounter SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("platform_api", "0001_initial")]

    operations = [migrations.RunPython(unlogged, logged)]
