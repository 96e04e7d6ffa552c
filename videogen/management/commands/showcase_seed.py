"""Seed the showcase with sandbox-rendered example clips when it is empty (bin/run calls this on start)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from videogen.services.showcase import showcase_seed


class Command(BaseCommand):
    help = "Add a few sandbox example videos to an empty showcase; does nothing once it has any clip."

    def handle(self, *args: Any, **options: Any) -> None:
        added = showcase_seed()
        self.stdout.write(f"Showcase: added {added} example clips." if added else "Showcase: already has clips.")
