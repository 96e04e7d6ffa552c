"""Status latency while many Segmind-style synchronous requests wait (issue: waiting clients must not starve).

Starts uvicorn (videogen.asgi) on a free loopback port, opens `--waits`
concurrent `POST /v1/hailuo-02-fast` requests whose jobs never finish
(prompt "sandbox:hang"; no worker runs, so they simply stay open), and
meanwhile measures `GET /v2/requests/{id}/status` from a few other clients.
Prints p50/p99 before and during the waits, the server's thread count and
(on PostgreSQL) its database connections, then hangs up the waiting clients
and reports how many of their jobs the server canceled unpaid.

    .venv/bin/python bench/compat_wait_bench.py                      # SQLite in a temp dir, DEBUG=1
    .venv/bin/python bench/compat_wait_bench.py --production \\
        --database-url postgres://postgres@127.0.0.1:5432/videogen_bench --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
SLUG = "hailuo-02-fast"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, default=200, help="synchronous requests held open at once")
    parser.add_argument("--seconds", type=float, default=20, help="how long to measure while they wait")
    parser.add_argument("--pollers", type=int, default=4, help="clients sending status requests back to back")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--database-url", default="", help="a scratch database (default: SQLite in a temp dir)")
    parser.add_argument("--production", action="store_true", help="DEBUG off, as deployed")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_postgres_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def server_env(args: argparse.Namespace, var_dir: str, port: int) -> dict[str, str]:
    database_url = args.database_url or f"sqlite:///{var_dir}/db.sqlite3"
    env = {
        "DATABASE_URL": database_url,
        "VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SANDBOX_ENABLED": "1",
    }
    if args.production:
        env.update(
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(48),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_COOKIES="0",
        )
    else:
        env["DEBUG"] = "1"
    return env


def prepare_database(env: dict[str, str]) -> tuple[str, str, int]:
    """Migrate, and make a funded organization with a key and one hanging job to ask about."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts import services as accounts
    from accounts.models import Membership
    from api.models import OrganizationApiLimits
    from billing import services as billing
    from videogen.services.generations import generation_create

    user = accounts.user_signup(email=f"bench-{secrets.token_hex(4)}@example.com", password=secrets.token_hex(16))
    org = Membership.objects.get(user=user).organization
    _key, raw = accounts.api_key_create(organization=org, name="compat wait bench", created_by=user)
    billing.credits_grant(
        organization=org, amount_micros=10_000_000_000, kind="grant", idempotency_key=f"bench:{org.public_id}"
    )
    # The benchmark measures the server, not our rate limits: raise them out of the way.
    OrganizationApiLimits.objects.create(
        organization=org, key_requests_per_minute=10**8, org_requests_per_minute=10**8, max_running_jobs=10**8
    )
    job = generation_create(organization=org, model=SLUG, params={"prompt": "sandbox:hang"}, source="segmind")
    return raw, job.public_id, org.pk


def start_server(args: argparse.Namespace, env: dict[str, str], port: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv/bin/uvicorn"),
        "videogen.asgi:application",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={args.workers}",
        "--no-access-log",
        "--log-level=warning",
        "--timeout-keep-alive=30",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("uvicorn did not start within 30 s")


def _server_pids(server: subprocess.Popen) -> list[int]:
    pids = [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def server_footprint(server: subprocess.Popen) -> str:
    """Threads and resident memory of the server process and its worker processes."""
    threads = rss_kb = 0
    for pid in _server_pids(server):
        threads += len(list(Path(f"/proc/{pid}/task").iterdir()))
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb += int(line.split()[1])
    return f"server threads {threads}, resident memory {rss_kb / 1024:.0f} MiB"


def database_connections(env: dict[str, str]) -> int | None:
    url = env["DATABASE_URL"]
    if not url.startswith("postgres"):
        return None
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (parsed.path.lstrip("/"),)
        ).fetchone()
    return int(row[0]) - 1 if row else None  # minus this bench's own Django connection


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure_status(base: str, key: str, request_id: str, seconds: float, pollers: int) -> tuple[list[float], int]:
    """Status requests back to back from `pollers` threads; latencies in ms and the number of errors."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def poll() -> None:
        with httpx.Client(base_url=base, headers={"x-api-key": key}, timeout=10) as client:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    ok = client.get(f"/v2/requests/{request_id}/status").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed) if ok else None
                    errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=poll) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def report(label: str, latencies: list[float], errors: int, seconds: float) -> None:
    print(
        f"{label:<28} n={len(latencies):>6}  {len(latencies) / seconds:7.1f} req/s  "
        f"p50={percentile(latencies, 50):7.1f} ms  p99={percentile(latencies, 99):7.1f} ms  "
        f"max={max(latencies, default=float('nan')):7.1f} ms  errors={errors}"
    )


async def hold_waits(base: str, key: str, count: int, opened: asyncio.Event, release: asyncio.Event) -> list[str]:
    """Open `count` synchronous requests, signal once all are sent, hold them until `release`, then hang up."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    # No timeout: the requests are meant to wait until we hang up.
    client = httpx.AsyncClient(base_url=base, headers={"x-api-key": key}, timeout=None, limits=limits)  # noqa: S113
    async with client:
        tasks = [asyncio.create_task(client.post(f"/v1/{SLUG}", json={"prompt": "sandbox:hang"})) for _ in range(count)]
        await asyncio.sleep(0)
        opened.set()
        await release.wait()
        finished_early = [t for t in tasks if t.done()]
        outcomes = [f"{t.result().status_code}" if not t.exception() else repr(t.exception()) for t in finished_early]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return outcomes


def count_jobs(org_pk: int, **filters: str) -> int:
    from videogen.models import Generation

    return Generation.objects.filter(organization_id=org_pk, source="segmind", **filters).count()


def settled_cancel_count(org_pk: int, patience: float = 60) -> int:
    """Canceled jobs once the count stops moving (the server cancels each as it sees its client leave)."""
    deadline = time.monotonic() + patience
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = count_jobs(org_pk, status="canceled")
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since > 3:
            break
        time.sleep(0.5)
    return last


def main() -> None:
    args = parse_args()
    if args.database_url.startswith("postgres"):
        ensure_postgres_database(args.database_url)
    var_dir = tempfile.mkdtemp(prefix="compat-wait-bench-")
    port = free_port()
    env = server_env(args, var_dir, port)
    key, request_id, org_pk = prepare_database(env)
    base = f"http://127.0.0.1:{port}"
    server = start_server(args, env, port)
    try:
        run(args, env, server, base, key, request_id, org_pk)
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(args, env, server, base: str, key: str, request_id: str, org_pk: int) -> None:
    db = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    mode = "production (DEBUG=0)" if args.production else "DEBUG=1"
    print(f"uvicorn videogen.asgi, {args.workers} worker(s), {db}, {mode}, {os.cpu_count()} CPUs")
    measure_status(base, key, request_id, 2, args.pollers)  # warm up
    idle, idle_errors = measure_status(base, key, request_id, 5, args.pollers)
    report("status, nobody waiting", idle, idle_errors, 5)
    print(f"{server_footprint(server)}, database connections {database_connections(env)}")

    loop = asyncio.new_event_loop()
    opened, release = asyncio.Event(), asyncio.Event()
    holder = threading.Thread(
        target=lambda: holder_result.append(loop.run_until_complete(hold_waits(base, key, args.waits, opened, release)))
    )
    holder_result: list[list[str]] = []
    holder.start()
    deadline = time.monotonic() + 120
    while count_jobs(org_pk, status="queued") < args.waits + 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    waiting = count_jobs(org_pk, status="queued") - 1
    print(f"{waiting} synchronous requests waiting on their jobs")

    busy, busy_errors = measure_status(base, key, request_id, args.seconds, args.pollers)
    footprint, connections = server_footprint(server), database_connections(env)
    report(f"status, {waiting} waiting", busy, busy_errors, args.seconds)
    print(f"{footprint}, database connections {connections}")

    loop.call_soon_threadsafe(release.set)
    holder.join()
    early = holder_result[0] if holder_result else []
    print(f"waits answered before the end (should be none): {len(early)} {sorted(set(early))[:5]}")
    print(f"jobs canceled after their clients hung up: {settled_cancel_count(org_pk)} of {args.waits}")


if __name__ == "__main__":
    main()
