"""A reusable loopback HTTP harness for emulating providers.

- `LoopbackServer`: a ThreadingHTTPServer on 127.0.0.1 with an ephemeral
  port, running in a thread; it hands every request to a plain function
  `handle(Request) -> Reply`. Also good for a webhook receiver in a test.
- `JobStore`: thread-safe, in-memory jobs that move QUEUED -> RUNNING -> done
  after N polls or after N seconds, recording `completed_at` (the moment the
  job became done upstream) and `first_seen_done_at` (the first time a client
  was told so), so a benchmark can measure completion lag.
- `ProviderEmulator`: a provider's API on a LoopbackServer with auth checks,
  a download route for results, and `inject()` to force every error path.
- `blackhole_port()` / `refused_port()`: addresses where a connection times
  out or is refused.

How the connect timeout is produced: `blackhole_port()` listens with a
backlog of 0 and never accepts, then fills that backlog itself. Linux drops
further SYNs to a full accept queue, so a client's connect hangs until its
connect timeout: a real connect timeout, on loopback, without sleeping.
"""

from __future__ import annotations

import contextlib
import enum
import heapq
import itertools
import json
import re
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# --- requests and replies ----------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to hold the reply back (read-timeout scenarios); cut short on stop.
    delay: float = 0.0


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), headers=dict(headers or {}))


# --- the server --------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pooled clients reuse connections
    # Headers and body go out in separate writes: without this, Nagle plus
    # delayed ACKs add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            reply = self.server.handle(request)
        except Exception as exc:  # a bug in an emulator should show, not hang the client
            reply = Reply(status=599, body=f"emulator error: {exc!r}".encode(), content_type="text/plain")
        if reply.delay and self.server.stopping.wait(reply.delay):
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have given up already
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # many clients in flight during benchmarks

    def __init__(self, handle: Callable[[Request], Reply]) -> None:
        self.handle = handle
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can take long.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-reply (timeouts under test) are expected


class LoopbackServer:
    """Serve `handle` on 127.0.0.1:<ephemeral port> in a background thread."""

    def __init__(self, handle: Callable[[Request], Reply]) -> None:
        self._handle = handle
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("The server is not running.")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def start(self) -> LoopbackServer:
        self._server = _Server(self._handle)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="loopback-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- addresses that fail to connect -------------------------------------------------------


@contextlib.contextmanager
def blackhole_port() -> Iterator[int]:
    """A loopback port where connecting hangs until the client's connect timeout."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(64):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.2)
            try:
                probe.connect(("127.0.0.1", port))
            except TimeoutError:
                probe.close()
                break  # the queue is full: SYNs are being dropped
            fillers.append(probe)
        else:
            raise RuntimeError("Could not fill the accept queue; connect timeouts cannot be emulated here.")
        yield port
    finally:
        for sock in fillers:
            sock.close()
        listener.close()


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# --- jobs ----------------------------------------------------------------------------


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class Job:
    id: str
    params: dict[str, Any]
    created_at: float
    state: JobState = JobState.QUEUED
    polls: int = 0
    due_at: float | None = None
    completed_at: float | None = None
    first_seen_done_at: float | None = None
    error: str | None = None  # the failure detail this job will end with
    callback_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state in (JobState.SUCCEEDED, JobState.FAILED)


class JobStore:
    """In-memory jobs, safe to share between server threads.

    Progress: with `seconds_to_complete` a job is done that many seconds
    (on `clock`) after creation, and running from halfway; otherwise it is
    queued at the first observation, running from the second, and done on
    the `polls_to_complete`-th (0 means done at creation). A job
    created with `error` ends FAILED with that detail. `on_complete(job)` runs
    once per job, outside the lock, in whichever thread finished it.
    """

    def __init__(
        self,
        *,
        polls_to_complete: int = 3,
        seconds_to_complete: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        id_prefix: str = "job_",
    ) -> None:
        self.polls_to_complete = polls_to_complete
        self.seconds_to_complete = seconds_to_complete
        self.clock = clock
        self.on_complete: Callable[[Job], None] | None = None
        self._id_prefix = id_prefix
        self._ids = itertools.count(1)
        self._jobs: dict[str, Job] = {}
        self._due: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._jobs)

    def create(
        self,
        params: dict[str, Any],
        *,
        error: str | None = None,
        callback_url: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Job:
        now = self.clock()
        finished: Job | None = None
        with self._lock:
            job_id = f"{self._id_prefix}{next(self._ids)}"
            job = Job(
                id=job_id,
                params=params,
                created_at=now,
                error=error,
                callback_url=callback_url,
                extra=dict(extra or {}),
            )
            if self.seconds_to_complete is not None:
                job.due_at = now + self.seconds_to_complete
                heapq.heappush(self._due, (job.due_at, job_id))
            elif self.polls_to_complete <= 0:
                finished = self._finish_locked(job, now)
            self._jobs[job_id] = job
            snapshot = replace(job)
        if finished is not None:
            self._notify(finished)
        return snapshot

    def get(self, job_id: str) -> Job | None:
        """A snapshot of the job without counting a poll (after due jobs are finished)."""
        self.sweep()
        with self._lock:
            job = self._jobs.get(job_id)
            return replace(job) if job else None

    def observe(self, job_id: str) -> Job | None:
        """Count one client poll, advance the job, and return a snapshot (None if unknown)."""
        now = self.clock()
        finished: Job | None = None
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            job.polls += 1
            if not job.done:
                finished = self._advance_locked(job, now)
            if job.done and job.first_seen_done_at is None:
                job.first_seen_done_at = now
            snapshot = replace(job)
        if finished is not None:
            self._notify(finished)
        return snapshot

    def finish(self, job_id: str, *, error: str | None = None) -> Job:
        """Finish a job now (succeeded, or failed with `error`), as the provider would."""
        with self._lock:
            job = self._jobs[job_id]
            if error is not None:
                job.error = error
            finished = None if job.done else self._finish_locked(job, self.clock())
            snapshot = replace(job)
        if finished is not None:
            self._notify(finished)
        return snapshot

    def expire(self, job_id: str) -> None:
        """Forget a job, as a provider does once results pass their retention."""
        with self._lock:
            self._jobs.pop(job_id, None)

    def jobs(self) -> list[Job]:
        with self._lock:
            return [replace(job) for job in self._jobs.values()]

    def sweep(self) -> int:
        """Finish every job whose time has come (seconds mode); returns how many."""
        if self.seconds_to_complete is None:
            return 0
        now = self.clock()
        finished: list[Job] = []
        with self._lock:
            while self._due and self._due[0][0] <= now:
                _, job_id = heapq.heappop(self._due)
                job = self._jobs.get(job_id)
                if job is not None and not job.done:
                    finished.append(self._finish_locked(job, job.due_at or now))
        for job in finished:
            self._notify(job)
        return len(finished)

    def _advance_locked(self, job: Job, now: float) -> Job | None:
        # The first look finds a job still queued, later ones running, until it is done.
        if job.due_at is not None:
            if now >= job.due_at:
                return self._finish_locked(job, job.due_at)
            halfway = job.created_at + (job.due_at - job.created_at) / 2
            job.state = JobState.RUNNING if now >= halfway else JobState.QUEUED
            return None
        if job.polls >= self.polls_to_complete:
            return self._finish_locked(job, now)
        job.state = JobState.RUNNING if job.polls >= 2 else JobState.QUEUED
        return None

    def _finish_locked(self, job: Job, when: float) -> Job:
        job.state = JobState.FAILED if job.error else JobState.SUCCEEDED
        job.completed_at = when
        return replace(job)

    def _notify(self, job: Job) -> None:
        if self.on_complete is not None:
            self.on_complete(job)


class Sweeper:
    """A thread that finishes due jobs promptly, so completion hooks fire on time."""

    def __init__(self, store: JobStore, interval: float = 0.02) -> None:
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-sweeper", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.store.sweep()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


# --- faults ----------------------------------------------------------------------------


class Fault(enum.StrEnum):
    BAD_REQUEST = "bad_request"  # 400
    UNAUTHORIZED = "unauthorized"  # 401
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404, e.g. an expired request id
    INSUFFICIENT_CREDIT = "insufficient_credit"  # the provider's own way of saying so
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    SERVER_ERROR = "server_error"  # 500
    BAD_GATEWAY = "bad_gateway"  # 502
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503
    GATEWAY_TIMEOUT = "gateway_timeout"  # 504
    READ_TIMEOUT = "read_timeout"  # holds the reply for `delay` seconds
    MALFORMED_JSON = "malformed_json"  # 200, truncated JSON
    HTML_ERROR = "html_error"  # an HTML error page, status from `status` (502)
    ERROR_IN_200 = "error_in_200"  # HTTP 200 carrying an error `code`
    JOB_FAILED = "job_failed"  # on submit: the job is accepted, then fails with `message`


_STATUS_OF = {
    Fault.BAD_REQUEST: 400,
    Fault.UNAUTHORIZED: 401,
    Fault.FORBIDDEN: 403,
    Fault.NOT_FOUND: 404,
    Fault.RATE_LIMITED: 429,
    Fault.SERVER_ERROR: 500,
    Fault.BAD_GATEWAY: 502,
    Fault.SERVICE_UNAVAILABLE: 503,
    Fault.GATEWAY_TIMEOUT: 504,
}
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class FaultSpec:
    fault: Fault
    on: str  # a route kind ("submit", "poll", "result", ...) or "*"
    times: int | None  # None: until cleared
    options: dict[str, Any]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    kind: str
    handler: Callable[..., Reply]
    auth: bool = True


class ProviderEmulator:
    """Base for a provider emulator: routing, auth, faults, result downloads.

    Subclasses set `routes()` and the provider-specific replies
    (`error_body`, `auth_failure`, `insufficient_credit`, `error_in_200`).
    The result video is `video_bytes`, served at `/files/<job id>.mp4`.
    """

    job_id_prefix = "job_"

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        video_bytes: bytes = b"",
        polls_to_complete: int = 3,
        seconds_to_complete: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sweep: bool | None = None,
    ) -> None:
        self.api_key = api_key
        self.video_bytes = video_bytes
        self.store = JobStore(
            polls_to_complete=polls_to_complete,
            seconds_to_complete=seconds_to_complete,
            clock=clock,
            id_prefix=self.job_id_prefix,
        )
        self.store.on_complete = self._completed
        self.requests: deque[Request] = deque(maxlen=5000)
        self.completion_hooks: list[Callable[[Job], None]] = []
        self._faults: list[FaultSpec] = []
        self._faults_lock = threading.Lock()
        self._server = LoopbackServer(self.handle)
        self._routes = [
            Route("GET", re.compile(r"^/files/(?P<job_id>[^/]+)\.mp4$"), "download", self._download, auth=False),
            *self.routes(),
        ]
        use_sweeper = seconds_to_complete is not None if sweep is None else sweep
        self._sweeper = Sweeper(self.store) if use_sweeper else None

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> ProviderEmulator:
        self._server.start()
        if self._sweeper is not None:
            self._sweeper.start()
        return self

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.stop()
        self._server.stop()

    def __enter__(self) -> ProviderEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def url(self, path: str) -> str:
        return self._server.url(path)

    def download_url(self, job_id: str) -> str:
        return self.url(f"/files/{job_id}.mp4")

    # --- faults ----------------------------------------------------------------

    def inject(self, fault: Fault, *, on: str = "*", times: int | None = None, **options: Any) -> None:
        """Answer requests of kind `on` with `fault` (`times` times, or until clear_faults())."""
        with self._faults_lock:
            self._faults.append(FaultSpec(Fault(fault), on, times, options))

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    def _take_fault(self, kind: str) -> FaultSpec | None:
        with self._faults_lock:
            for spec in self._faults:
                if spec.fault == Fault.JOB_FAILED and kind != "submit":
                    continue
                if spec.on in ("*", kind):
                    if spec.times is not None:
                        spec.times -= 1
                        if spec.times <= 0:
                            self._faults.remove(spec)
                    return spec
        return None

    # --- request handling -----------------------------------------------------------

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match is None or route.method != request.method:
                continue
            fault = self._take_fault(route.kind)
            options: dict[str, Any] = {}
            if fault is not None:
                if fault.fault != Fault.JOB_FAILED:
                    return self.render_fault(fault)
                options["fail_with"] = fault.options.get("message", "The job failed upstream.")
            if route.auth and not self.authorized(request):
                return self.auth_failure(self.presented_key(request))
            return route.handler(request, **match.groupdict(), **options)
        return self.error_body(404, f"No route for {request.method} {request.path}")

    def render_fault(self, spec: FaultSpec) -> Reply:
        fault, options = spec.fault, spec.options
        message = options.get("message")
        if fault == Fault.READ_TIMEOUT:
            return Reply(status=200, body=b"{}", delay=float(options.get("delay", 30.0)))
        if fault == Fault.MALFORMED_JSON:
            return Reply(status=200, body=b'{"status": "ok", "id": ')
        if fault == Fault.HTML_ERROR:
            status = int(options.get("status", 502))
            page = f"<html><head><title>{status}</title></head><body><h1>{status} {_REASONS.get(status, '')}</h1>"
            return Reply(status=status, body=(page + "</body></html>").encode(), content_type="text/html")
        if fault == Fault.INSUFFICIENT_CREDIT:
            return self.insufficient_credit()
        if fault == Fault.ERROR_IN_200:
            return self.error_in_200(options.get("code"), message or "error")
        status = _STATUS_OF[fault]
        reply = self.error_body(status, message or _REASONS[status])
        if fault == Fault.RATE_LIMITED:
            reply.headers["Retry-After"] = str(options.get("retry_after", "7"))
        return reply

    # --- auth ---------------------------------------------------------------------

    def presented_key(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        return auth.removeprefix("Bearer ").strip()

    def authorized(self, request: Request) -> bool:
        return self.presented_key(request) == self.api_key

    # --- provider-specific replies (override) -------------------------------------------

    def error_body(self, status: int, message: str) -> Reply:
        return json_reply(status, {"error": message})

    def auth_failure(self, presented: str) -> Reply:
        # Echoes the presented key, as some gateways do, so tests prove adapters redact it.
        return self.error_body(401, f"Invalid API key: {presented}")

    def insufficient_credit(self) -> Reply:
        return self.error_body(402, "Insufficient credits")

    def error_in_200(self, code: Any, message: str) -> Reply:
        raise NotImplementedError(f"{type(self).__name__} has no in-body error codes.")

    # --- completion and downloads ----------------------------------------------------

    def _completed(self, job: Job) -> None:
        for hook in list(self.completion_hooks):
            hook(job)

    def _download(self, request: Request, job_id: str) -> Reply:
        job = self.store.get(job_id)
        if job is None or job.state != JobState.SUCCEEDED:
            return Reply(status=404, body=b"not found", content_type="text/plain")
        return Reply(status=200, body=self.video_bytes, content_type="video/mp4")
