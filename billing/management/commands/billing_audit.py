from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.selectors import ledger_drift


class Command(BaseCommand):
    help = "Recompute every organization's balance and held credit from its ledger; exit 1 on any drift."

    def handle(self, *args: Any, **options: Any) -> None:
        drift = ledger_drift()
        for item in drift:
            self.stderr.write(
                f"DRIFT {item.organization_public_id} ({item.organization_name}): {item.field} is "
                f"{item.recorded} {item.unit} but its ledger and holds say {item.expected}"
            )
        if drift:
            orgs = sorted({item.organization_public_id for item in drift})
            raise CommandError(f"{len(orgs)} organization(s) drift from their ledger: {', '.join(orgs)}")
        self.stdout.write(self.style.SUCCESS("Every credit account matches its ledger."))
