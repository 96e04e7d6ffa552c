"""Issue an API key for scripting: prints the key alone on standard output."""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.forms import ValidationError

from accounts import services
from accounts.models import Membership, Organization, Role, User


class Command(BaseCommand):
    help = "Create an API key for an organization (and, with --create, the organization and its owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--email", required=True, help="email of the organization's owner")
        parser.add_argument("--create", action="store_true", help="create the organization and owner if missing")
        parser.add_argument("--grant-usd", help="add this much promotional credit, e.g. 10.00")
        parser.add_argument("--name", default="issued from the command line", help="name of the key")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--email: {email!r} is not an email address.") from None
        grant = _parse_grant(options["grant_usd"])
        with transaction.atomic():
            organization, owner = _organization(options["org"], email, create=options["create"])
            # The key acts for the owner named, with their role (and stops working if they leave).
            key, raw = services.api_key_create(organization=organization, name=options["name"], created_by=owner)
            if grant:
                from billing.money import usd_to_micros
                from billing.services import credits_grant

                credits_grant(
                    organization=organization,
                    amount_micros=usd_to_micros(grant),
                    kind="grant",
                    idempotency_key=f"cli-grant:{key.public_id}:{secrets.token_hex(4)}",
                    reason="granted with issue_api_key",
                )
        self.stdout.write(raw)


def _parse_grant(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise CommandError(f"--grant-usd: {value!r} is not an amount like 10.00.") from None
    exponent = amount.as_tuple().exponent
    if amount <= 0 or not isinstance(exponent, int) or exponent < -6:
        raise CommandError("--grant-usd: must be a positive amount with at most 6 decimal places.")
    return amount


def _organization(slug: str, email: str, *, create: bool) -> tuple[Organization, User]:
    organization = Organization.objects.filter(slug=slug).first()
    user = User.objects.filter(email__iexact=email).first()
    if organization is None:
        if not create:
            raise CommandError(f"--org: no organization with slug {slug!r} (add --create to create it).")
        if user is None:
            user = User.objects.create_user(email=email, password=None)
        organization = services.organization_create(owner=user, name=slug)
        Organization.objects.filter(pk=organization.pk).update(slug=slug)
        organization.slug = slug
        return organization, user
    if user is None or not Membership.objects.filter(user=user, organization=organization, role=Role.OWNER).exists():
        raise CommandError(f"--email: {email} is not an owner of {slug!r}.")
    return organization, user
