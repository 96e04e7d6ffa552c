"""Native REST API benchmarks (issue 5), on PostgreSQL with the production server configuration.

Starts uvicorn (`videogen.asgi:application`, several worker processes on
uvloop and httptools, DEBUG off, no access log) on a free loopback port
against a dedicated database, and drives it with keep-alive connections from
bench/_loadgen.py, a raw-socket HTTP/1.1 client that costs the shared CPU far
less than a full client library would:

1. GET /api/v1/generations/{id} requests per second, and /healthz (a trivial
   JSON view) in the same run, alternating in --rounds short rounds: the
   median of the rounds' ratios (target >= 0.6).
2. POST /api/v1/generations requests per second and p99 latency, credit hold
   included (target >= 150/s). The organization has plenty of credit and
   raised limits; no worker runs, so the jobs stay queued.
3. Status p99 latency while --waits (default 1,000) `Prefer: wait=60` requests
   are open on a job that does not finish (target < 150 ms), next to the same
   load with no waits, and the server's PostgreSQL connections meanwhile.

Each figure also shows the CPU time per request of the server processes and
of the database backends serving them: on a machine shared with the load
generator (and anything else) those say more than requests per second.

With --redis, a redis-server started on a free port serves as the task broker
and holds the rate-limit counters (the "at scale" configuration); without it
both live in PostgreSQL.

Run: `.venv/bin/python bench/api_bench.py [--workers 2] [--seconds 10] [--concurrency 32] [--rounds 5] [--redis]`
(BENCH_API_DATABASE_URL overrides the database, default
postgres://postgres@127.0.0.1:5432/videogen_api_bench; it is dropped and created afresh).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._loadgen import Connection, encode_request  # noqa: E402
from bench._setup import percentile  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/videogen_api_bench"


def fresh_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_environment(url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(ROOT / "var" / "api-bench"),
        "DJANGO_SETTINGS_MODULE": "videogen.settings",
        # No collectstatic for a benchmark: WhiteNoise's notice about the missing folder is noise here.
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, then create a funded organization with raised limits, its key and two queued jobs."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # the shared cache when there is no Redis
    from accounts import services as accounts
    from billing.services import credits_grant
    from videogen.services.generations import generation_create

    user = accounts.user_signup(email=f"bench-{time.time_ns()}@example.com", password=secrets.token_urlsafe(16))
    org = user.memberships.get().organization
    credits_grant(
        organization=org, amount_micros=10**12, kind="grant", idempotency_key=f"bench:{org.public_id}", reason="bench"
    )
    try:
        from api.models import OrganizationApiLimits
    except ImportError:  # the layout before the API plumbing had its own app, for before/after comparisons
        from platform_api.models import OrganizationApiLimits  # type: ignore[no-redef]
    OrganizationApiLimits.objects.create(
        organization=org, key_requests_per_minute=10**8, org_requests_per_minute=10**8, max_running_jobs=10**8
    )
    try:
        _, raw = accounts.api_key_create(organization=org, name="bench", created_by=user)
    except TypeError:  # before keys recorded their creator
        _, raw = accounts.api_key_create(organization=org, name="bench")
    params = {"prompt": "a slow pan over a harbour", "duration": 6}
    job = generation_create(organization=org, model="hailuo-02", params=params)
    hang = generation_create(organization=org, model="hailuo-02", params={**params, "prompt": "sandbox:hang"})
    from django.db import connections

    connections.close_all()
    return {"key": raw, "job": job.public_id, "hang": hang.public_id}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


class CpuMeter:
    """CPU seconds used by the server's processes and by the database backends serving it."""

    def __init__(self, server_group: int, database: str) -> None:
        self.server_group = server_group
        self.database = database

    def _server_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[2]) == self.server_group:  # process group
                    pids.append(int(entry.name))
        return pids

    def _database_pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(self.database, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [row[0] for row in rows]

    def sample(self) -> tuple[float, float]:
        server = sum(_cpu_seconds(pid) for pid in self._server_pids())
        database = sum(_cpu_seconds(pid) for pid in self._database_pids())
        return server, database


@dataclass
class Run:
    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    server_cpu: float = 0.0
    database_cpu: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        p50, p99 = percentile(self.latencies, 50) * 1000, percentile(self.latencies, 99) * 1000
        errors = f"  errors {self.errors}" if self.errors else ""
        count = max(1, len(self.latencies))
        server, database = self.server_cpu / count * 1000, self.database_cpu / count * 1000
        cpu = f"   CPU per request: server {server:4.1f} ms, database {database:4.1f} ms"
        return (
            f"{self.label:<36} {self.rps:6.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms{cpu}"
            f"   ({len(self.latencies)} requests){errors}"
        )


METER: CpuMeter | None = None


async def load(label: str, request: bytes, seconds: float, connections: list[Connection], expect: int) -> Run:
    """Each connection sends the request back to back for `seconds` (after a one-second warm-up).

    The figures being compared use the same connections: uvicorn's workers share
    one listening socket, so which worker serves a keep-alive connection is
    settled when it is accepted, and a fresh set of connections could be split
    differently between the workers.
    """
    run = Run(label)
    start_at = time.monotonic() + 1.0
    stop_at = start_at + seconds

    async def meter() -> tuple[float, float]:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        first = await asyncio.to_thread(METER.sample)
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
        last = await asyncio.to_thread(METER.sample)
        return last[0] - first[0], last[1] - first[1]

    metering = asyncio.create_task(meter()) if METER else None

    async def worker(connection: Connection) -> None:
        while (now := time.monotonic()) < stop_at:
            response = await connection.send(request)
            done = time.monotonic()
            if now < start_at:
                continue
            if response.status == expect:
                run.latencies.append(done - now)
            else:
                run.errors[response.status] = run.errors.get(response.status, 0) + 1

    await asyncio.gather(*(worker(connection) for connection in connections))
    run.seconds = seconds
    if metering is not None:
        run.server_cpu, run.database_cpu = await metering
    return run


async def wait_for_server(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(200):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not start")


@dataclass(frozen=True)
class Target:
    host: str
    port: int

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None) -> bytes:
        return encode_request(method, path, f"{self.host}:{self.port}", headers, body)


def merge(runs: list[Run]) -> Run:
    """Several runs of one request as one figure."""
    merged = Run(runs[0].label)
    for run in runs:
        merged.seconds += run.seconds
        merged.latencies += run.latencies
        merged.server_cpu += run.server_cpu
        merged.database_cpu += run.database_cpu
        for status, count in run.errors.items():
            merged.errors[status] = merged.errors.get(status, 0) + count
    return merged


def server_connections(url: str) -> int:
    """Connections the server processes hold to the benchmark database (this script's own excluded)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


async def benchmarks(
    target: Target, data: dict[str, str], seconds: float, concurrency: int, rounds: int, waits_wanted: int, url: str
) -> list[str]:
    auth = {"Authorization": f"Bearer {data['key']}"}
    lines = []
    health_request = target.request("GET", "/healthz")
    status_request = target.request("GET", f"/api/v1/generations/{data['job']}", auth)
    # Alternate the two in short rounds, so a change in what else the machine does hits both alike.
    healths, statuses = [], []
    share = seconds / rounds
    clients = [Connection(target.host, target.port) for _ in range(concurrency)]
    for _ in range(rounds):
        healths.append(await load("GET /healthz", health_request, share, clients, 200))
        statuses.append(await load("GET /api/v1/generations/{id}", status_request, share, clients, 200))
    ratios = sorted(status.rps / health.rps for health, status in zip(healths, statuses, strict=True))
    each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    lines += [
        merge(healths).line(),
        merge(statuses).line(),
        f"{'ratio status / healthz':<36} {statistics.median(ratios):6.2f}   (median of {rounds} rounds: {each})",
    ]

    body = {"model": "hailuo-02", "input": {"prompt": "a lighthouse at dusk", "duration": 6}}
    create_request = target.request("POST", "/api/v1/generations", auth, body)
    lines.append((await load("POST /api/v1/generations", create_request, seconds, clients, 201)).line())

    pollers = clients[: max(8, concurrency // 4)]
    alone = await load("GET status, no waits open", status_request, seconds, pollers, 200)
    lines.append(alone.line())
    waiting_request = target.request("GET", f"/api/v1/generations/{data['hang']}", {**auth, "Prefer": "wait=60"})
    connections_before = await asyncio.to_thread(server_connections, url)
    waiters = [Connection(target.host, target.port) for _ in range(waits_wanted)]
    waits = [asyncio.create_task(connection.send(waiting_request)) for connection in waiters]
    await asyncio.sleep(2.0 + waits_wanted / 250)  # let them all arrive and settle into waiting
    open_waits = sum(not task.done() for task in waits)
    connections_waiting = await asyncio.to_thread(server_connections, url)
    during = await load(f"GET status, {open_waits} waits open", status_request, seconds, pollers, 200)
    lines.append(during.line())
    lines.append(
        f"{'server DB connections, idle / waits':<36} {connections_before:6d} / {connections_waiting} "
        f"(with {open_waits} waits open)"
    )
    still_open = sum(not task.done() for task in waits)
    lines.append(f"{'waits still open after that':<36} {still_open:6d}")
    for connection in waiters + clients:
        connection.close()
    await asyncio.gather(*waits, return_exceptions=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per figure")
    parser.add_argument("--concurrency", type=int, default=32, help="simultaneous client connections")
    parser.add_argument("--redis", action="store_true", help="Redis as broker and rate-limit store")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of /healthz and status")
    parser.add_argument("--waits", type=int, default=1000, help="Prefer: wait clients open at once")
    args = parser.parse_args()

    url = os.environ.get("BENCH_API_DATABASE_URL", DEFAULT_URL)
    fresh_database(url)
    port = free_port()
    env = server_environment(url, port)
    redis = start_redis() if args.redis else None
    if redis is not None:
        env["REDIS_URL"] = redis[1]
    data = prepare(env)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "uvicorn"),
            "videogen.asgi:application",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={args.workers}",
            "--no-access-log",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    global METER
    METER = CpuMeter(server.pid, url)
    try:
        asyncio.run(wait_for_server(base))
        lines = asyncio.run(
            benchmarks(Target("127.0.0.1", port), data, args.seconds, args.concurrency, args.rounds, args.waits, url)
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if redis is not None:
            redis[0].terminate()
            redis[0].wait(timeout=10)
    print(
        f"\nuvicorn {args.workers} workers, DEBUG off, PostgreSQL, {'Redis' if redis else 'database'} broker and "
        f"rate-limit counters; {os.cpu_count()} cores; {args.concurrency} client connections; "
        f"{args.seconds:.0f} s per figure\n"
    )
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
