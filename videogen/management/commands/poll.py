"""`manage.py poll`: follow jobs in flight until stopped; run one or more next to the web server and worker.

Each sweep claims the jobs that are due (`SKIP LOCKED`, see
videogen.services.sweep), so any number of pollers, on any number of
machines, share the work without a leader. SIGTERM or SIGINT lets the
current sweep finish, then the command exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from videogen.services.sweep import Poller, SweepStats

logger = logging.getLogger(__name__)

# How often a sleeping poller looks whether it was asked to stop.
WAKE_SECONDS = 0.05
# Pause after a failed sweep (the database is away, say), so the log gets a line a second, not ten.
FAILED_PAUSE_SECONDS = 1.0


class Command(BaseCommand):
    help = "Poll providers for the jobs in flight, sweep after sweep, until SIGTERM or SIGINT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one sweep and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        # Names this process's connections in pg_stat_activity (libpq reads it when connecting).
        os.environ.setdefault("PGAPPNAME", "videogen-poll")
        self.verbosity = options["verbosity"]
        self.stopping = False
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        sweeps = claimed = 0
        with Poller() as poller:
            while not self.stopping:
                stats = self.sweep(poller)
                sweeps += 1
                if options["once"]:
                    break
                if stats is None:
                    self.sleep(FAILED_PAUSE_SECONDS)
                    continue
                claimed += stats.claimed
                # A full batch means more jobs are due: sweep again at once.
                if stats.claimed < poller.batch:
                    self.sleep(settings.POLL_SWEEP_MS / 1000 - stats.seconds)
        self.stdout.write(f"Poller stopped after {sweeps} sweeps; {claimed} jobs claimed.")

    def sweep(self, poller: Poller) -> SweepStats | None:
        """One sweep; None when it failed (what it had claimed is due again after the claim's lease)."""
        try:
            stats = poller.sweep()
        except Exception:
            logger.exception("Sweep failed")
            return None
        finally:
            # Between sweeps this thread holds no connection either.
            close_old_connections()
        if self.verbosity >= 2:
            self.stdout.write(
                f"Sweep: {stats.claimed} claimed, {stats.timed_out} timed out in {stats.seconds * 1000:.0f} ms"
            )
        return stats

    def sleep(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < until:
            time.sleep(min(WAKE_SECONDS, max(0.0, until - time.monotonic())))

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stdout.write(f"{signal.Signals(signum).name} received: stopping after this sweep.")
        self.stopping = True
