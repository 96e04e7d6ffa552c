"""Helpers for tests that start real server or worker processes on the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """A DATABASE_URL for the test database (PostgreSQL), for subprocesses."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def redis_or_skip(url: str, needed_for: str) -> Any:
    """A client of the Redis at `url`; the test skips without one, or fails when REQUIRE_REDIS=1 (CI)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"no Redis at {url}: {needed_for} ({exc})"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, timeout: float = 60) -> None:
    """Until `url`/healthz answers 200: a web process has started."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not start"
        time.sleep(0.2)


class Processes:
    """Processes of one site (web, task workers, pollers), each in its own process group, logging to one file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *command: str) -> None:
        """`python <command>` from the project's folder, e.g. ("manage.py", "poll")."""
        with self.log.open("ab") as log:
            self.running[name] = subprocess.Popen(
                [sys.executable, *command], cwd=ROOT, env=self.env, start_new_session=True, stdout=log, stderr=log
            )

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything it spawned: no cleanup runs."""
        process = self.running[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop(self) -> None:
        """SIGTERM each leader (qcluster stops its own children), SIGKILL what is still there after 15 s."""
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()
        for name, process in self.running.items():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(name)
