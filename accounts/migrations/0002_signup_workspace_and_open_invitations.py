import django.db.models.deletion
from django.db import migrations, models


def close_duplicate_invitations(apps, schema_editor):
    """Keep the newest open invitation per organization and address; the older ones' links stop working."""
    Invitation = apps.get_model("accounts", "Invitation")
    seen = set()
    for invitation in Invitation.objects.filter(accepted_at__isnull=True).order_by("-created_at", "-pk"):
        key = (invitation.organization_id, invitation.email.lower())
        if key in seen:
            invitation.delete()
        seen.add(key)


def give_keys_a_creator(apps, schema_editor):
    """Keys issued without a creator (issue_api_key did) act for the organization's first owner.

    Keys now act with their creator's role, and a key without one would stop working.
    """
    ApiKey = apps.get_model("accounts", "ApiKey")
    Membership = apps.get_model("accounts", "Membership")
    for key in ApiKey.objects.filter(created_by__isnull=True, revoked_at__isnull=True):
        owner = (
            Membership.objects.filter(organization_id=key.organization_id, role="owner").order_by("created_at").first()
        )
        if owner is not None:
            ApiKey.objects.filter(pk=key.pk).update(created_by_id=owner.user_id)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='signup_organization',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.organization'),
        ),
        migrations.RunPython(close_duplicate_invitations, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='invitation',
            constraint=models.UniqueConstraint(condition=models.Q(('accepted_at__isnull', True)), fields=('organization', 'email'), name='invitation_one_open_per_address'),
        ),
        migrations.RunPython(give_keys_a_creator, migrations.RunPython.noop),
    ]
