"""The SSRF defence: customer URLs are checked, and requests go only where the check said.

Every test talks to real HTTP servers on loopback. The servers record every
connection they accept, so "refused" means "nothing reached the server", not
just "an exception was raised". Only name resolution is faked (there is no
DNS here), and only in the tests that need a name.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pytest_django.fixtures import Settings

from core.outbound import (
    PinnedTransport,
    ResolvedURL,
    UnsafeURLError,
    check_url,
    download_to_file,
    fetch,
    post_json,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

# --- Loopback servers ---------------------------------------------------------

Route = Callable[["_Handler"], None]


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """What one listening address received."""

    connections: int = 0
    hits: list[Hit] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], family: int, routes: dict[str, Route]) -> None:
        self.address_family = family
        self.routes = routes
        self.recorder = Recorder()
        super().__init__(address, _Handler)

    def verify_request(self, request: object, client_address: object) -> bool:
        self.recorder.connections += 1
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.recorder.hits.append(Hit(self.command, self.path, headers, body))
        route = self.server.routes.get(self.path.split("?")[0], _not_found)
        # The client may stop reading on purpose (size caps).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)

    do_GET = _dispatch
    do_POST = _dispatch

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _not_found(handler: _Handler) -> None:
    handler.reply(404, b"no such thing")


@dataclass
class Loopback:
    """One port on 127.0.0.1, 127.0.0.2 and ::1, each address with its own recorder."""

    port: int
    routes: dict[str, Route]
    servers: dict[str, _Server]
    release: threading.Event

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def recorder(self, host: str) -> Recorder:
        return self.servers[host].recorder

    def total_connections(self) -> int:
        return sum(s.recorder.connections for s in self.servers.values())


def _bind_trio(routes: dict[str, Route]) -> dict[str, _Server]:
    """Bind the same free port on every loopback address we watch."""
    for _ in range(20):
        first = _Server(("127.0.0.1", 0), socket.AF_INET, routes)
        port = first.server_address[1]
        servers = {"127.0.0.1": first}
        try:
            servers["127.0.0.2"] = _Server(("127.0.0.2", port), socket.AF_INET, routes)
            if socket.has_ipv6:
                servers["::1"] = _Server(("::1", port), socket.AF_INET6, routes)
        except OSError:
            for server in servers.values():
                server.server_close()
            continue
        return servers
    raise RuntimeError("no port free on all loopback addresses")


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    routes: dict[str, Route] = {}
    servers = _bind_trio(routes)
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    release = threading.Event()
    yield Loopback(servers["127.0.0.1"].server_address[1], routes, servers, release)
    release.set()
    stoppers = [threading.Thread(target=s.shutdown) for s in servers.values()]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()
    for server in servers.values():
        server.server_close()


@pytest.fixture
def allow_loopback(settings: Settings) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


# --- Fake name resolution -----------------------------------------------------


@dataclass
class FakeDNS:
    """Answers for *.test names; each answer list is used for one lookup in turn, the last repeats."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def lookups_of(self, name: str) -> int:
        return self.lookups.count(name)


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    dns = FakeDNS()
    real = socket.getaddrinfo

    def getaddrinfo(host: str | bytes, port: object, *args: object, **kwargs: object) -> list:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(".test"):
            return real(host, port, *args, **kwargs)
        dns.lookups.append(name)
        turns = dns.answers.get(name)
        if not turns:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = turns[min(dns.lookups_of(name), len(turns)) - 1]
        infos = []
        for address in addresses:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port), 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port))))
        return infos

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return dns


# --- Routes -------------------------------------------------------------------


def _png(handler: _Handler) -> None:
    handler.reply(200, PNG, {"Content-Type": "image/png"})


def _redirect_to(location: str, status: int = 302) -> Route:
    def route(handler: _Handler) -> None:
        handler.reply(status, b"", {"Location": location})

    return route


def _chunked(total: int, chunk: int = 16 * 1024) -> Route:
    """A body with no Content-Length, sent in chunks."""

    def route(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        sent = 0
        while sent < total:
            piece = bytes([sent // chunk % 256]) * min(chunk, total - sent)
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        handler.wfile.write(b"0\r\n\r\n")

    return route


def _lying_length(handler: _Handler) -> None:
    """Announces 50 MB but sends ten bytes: only the header can trigger the cap."""
    handler.reply(200, b"0123456789", {"Content-Length": str(50 * 1024 * 1024)})


def _sleeper(loopback: Loopback) -> Route:
    def route(handler: _Handler) -> None:
        loopback.release.wait(30)  # far beyond the client's timeout; freed at teardown
        handler.reply(200, b"late")

    return route


# --- Hostile URLs: refused by check_url, fetch and post_json ------------------


@dataclass(frozen=True)
class Hostile:
    url: str
    reason: str
    dns: dict[str, list[list[str]]] | None = None

    def __str__(self) -> str:
        return self.url


HOSTILE = [
    Hostile("http://127.0.0.1:{port}/", "loopback"),
    Hostile("https://127.0.0.1:{port}/", "loopback"),
    Hostile("http://localhost:{port}/", "loopback"),
    Hostile("http://LOCALHOST:{port}/", "loopback"),
    Hostile("http://10.0.0.1/", "private_address"),
    Hostile("http://172.16.0.1/", "private_address"),
    Hostile("http://172.31.255.255/", "private_address"),
    Hostile("http://192.168.1.1/", "private_address"),
    Hostile("http://100.64.0.1/", "private_address"),
    Hostile("http://[fc00::1]/", "private_address"),
    Hostile("http://169.254.169.254/latest/meta-data/", "metadata"),
    Hostile("http://100.100.100.200/latest/meta-data/", "metadata"),
    Hostile("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    Hostile("http://169.254.1.1/", "link_local"),
    Hostile("http://[fe80::1]/", "link_local"),
    Hostile("http://[::1]:{port}/", "loopback"),
    Hostile("http://[::ffff:127.0.0.1]:{port}/", "loopback"),
    Hostile("http://[::ffff:7f00:2]:{port}/", "loopback"),
    Hostile("http://[64:ff9b::127.0.0.1]:{port}/", "loopback"),
    Hostile("http://[64:ff9b::10.0.0.1]/", "private_address"),
    Hostile("http://[2002:7f00:1::1]:{port}/", "loopback"),
    Hostile("http://[2002:c0a8:101::1]/", "private_address"),
    Hostile("http://0x7f000001:{port}/", "loopback"),
    Hostile("http://2130706433:{port}/", "loopback"),
    Hostile("http://0177.0.0.1:{port}/", "loopback"),
    Hostile("http://127.1:{port}/", "loopback"),
    Hostile("http://0x7f.1:{port}/", "loopback"),
    Hostile("http://0.0.0.0:{port}/", "reserved"),
    Hostile("http://0:{port}/", "reserved"),
    Hostile("http://[::]:{port}/", "reserved"),
    Hostile("http://240.0.0.1/", "reserved"),
    Hostile("http://255.255.255.255/", "reserved"),
    Hostile("http://192.0.2.10/", "reserved"),
    Hostile("http://[2001:db8::1]/", "reserved"),
    Hostile("http://224.0.0.1/", "multicast"),
    Hostile("http://[ff02::1]/", "multicast"),
    Hostile("file:///etc/passwd", "scheme"),
    Hostile("gopher://127.0.0.1:70/", "scheme"),
    Hostile("ftp://example.com/", "scheme"),
    Hostile("http://user:pass@127.0.0.1:{port}/", "userinfo"),
    Hostile("http://example.com@127.0.0.1:{port}/", "userinfo"),
    Hostile("http://example.com\\@127.0.0.1:{port}/", "bad_url"),
    Hostile("http:///etc/passwd", "bad_url"),
    Hostile("http://example.com:99999/", "bad_url"),
    Hostile("http://evil.test:{port}/", "loopback", {"evil.test": [["127.0.0.1"]]}),
    Hostile("http://evil6.test:{port}/", "loopback", {"evil6.test": [["::1"]]}),
    Hostile("http://mixed.test:{port}/", "loopback", {"mixed.test": [["93.184.216.34", "127.0.0.1"]]}),
    Hostile("http://intranet.test/", "private_address", {"intranet.test": [["93.184.216.34", "10.1.2.3"]]}),
    Hostile("http://metadata.test/computeMetadata/v1/", "metadata", {"metadata.test": [["169.254.169.254"]]}),
    Hostile("http://nowhere.test:{port}/", "unresolvable", {}),
]


def _post(url: str) -> object:
    return post_json(url, body=b"{}", headers={}, field="webhook_url")


CALLS = {
    "check_url": lambda url: check_url(url, field="first_frame_image"),
    "fetch": lambda url: fetch(url, field="first_frame_image"),
    "post_json": _post,
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("case", HOSTILE, ids=str)
def test_hostile_urls_are_refused_and_nothing_is_contacted(
    case: Hostile, call: str, loopback: Loopback, settings: Settings, request: pytest.FixtureRequest
) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    if case.dns is not None:
        request.getfixturevalue("fake_dns").answers.update(case.dns)
    loopback.routes["/"] = _png

    with pytest.raises(UnsafeURLError) as refused:
        CALLS[call](case.url.format(port=loopback.port))

    assert refused.value.reason == case.reason
    assert refused.value.field in ("first_frame_image", "webhook_url")
    assert refused.value.message.startswith(f"{refused.value.field}: ")
    assert loopback.total_connections() == 0


def test_the_refusal_message_names_the_field_and_the_address(settings: Settings) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []

    with pytest.raises(UnsafeURLError) as refused:
        check_url("http://10.0.0.5/cat.png", field="first_frame_image")

    assert refused.value.field == "first_frame_image"
    assert refused.value.reason == "private_address"
    assert refused.value.message == (
        "first_frame_image: the URL points to a private network address (10.0.0.5); "
        "only public http(s) URLs are allowed."
    )
    assert str(refused.value) == refused.value.message


def test_a_name_is_reported_with_the_address_it_resolves_to(settings: Settings, fake_dns: FakeDNS) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    fake_dns.answers["evil.test"] = [["127.0.0.1"]]

    with pytest.raises(UnsafeURLError) as refused:
        check_url("https://evil.test/a.png", field="last_frame_image")

    assert "evil.test" in refused.value.message
    assert "127.0.0.1" in refused.value.message
    assert refused.value.message.startswith("last_frame_image: ")


# --- check_url on acceptable URLs ---------------------------------------------


def test_a_public_name_is_returned_with_its_checked_address(settings: Settings, fake_dns: FakeDNS) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    fake_dns.answers["cdn.test"] = [["93.184.216.34", "2606:2800:220:1::1"]]

    resolved = check_url("https://CDN.test/images/cat.png?size=1", field="first_frame_image")

    assert resolved == ResolvedURL(
        url="https://cdn.test/images/cat.png?size=1",
        scheme="https",
        host="cdn.test",
        port=443,
        ip="93.184.216.34",
    )


def test_public_literals_and_non_default_ports_are_accepted(settings: Settings) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []

    v4 = check_url("http://93.184.216.34:8080/x", field="url")
    v6 = check_url("https://[2606:4700::1111]/", field="url")

    assert (v4.ip, v4.port) == ("93.184.216.34", 8080)
    assert (v6.ip, v6.port, v6.host) == ("2606:4700::1111", 443, "2606:4700::1111")


def test_allowed_hosts_skip_the_address_rules_by_exact_case_insensitive_name(
    loopback: Loopback, settings: Settings
) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["LocalHost", "127.0.0.1"]

    by_name = check_url(f"http://localhost:{loopback.port}/", field="url")
    by_ip = check_url(f"http://127.0.0.1:{loopback.port}/", field="url")

    assert by_name.ip in ("127.0.0.1", "::1")
    assert by_ip.ip == "127.0.0.1"
    with pytest.raises(UnsafeURLError) as refused:
        check_url(f"http://127.1:{loopback.port}/", field="url")  # same address, other spelling
    assert refused.value.reason == "loopback"


# --- fetch ---------------------------------------------------------------------


def test_fetch_returns_the_body_from_an_allowed_host(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/cat.png"] = _png

    fetched = fetch(loopback.url("/cat.png"), field="first_frame_image", accept=("image/*",))

    assert fetched.body == PNG
    assert fetched.status_code == 200
    assert fetched.content_type == "image/png"
    assert fetched.url == loopback.url("/cat.png")
    [hit] = loopback.recorder("127.0.0.1").hits
    assert hit.headers["host"] == f"127.0.0.1:{loopback.port}"


def test_fetch_refuses_a_media_type_outside_accept(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/cat.png"] = _png

    with pytest.raises(UnsafeURLError) as refused:
        fetch(loopback.url("/cat.png"), field="first_frame_image", accept=("video/mp4",))

    assert refused.value.reason == "content_type"
    assert "image/png" in refused.value.message


def test_fetch_stops_on_an_announced_length_over_the_cap(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/big"] = _lying_length

    with pytest.raises(UnsafeURLError) as refused:
        fetch(loopback.url("/big"), field="first_frame_image", max_bytes=1024 * 1024)

    assert refused.value.reason == "too_large"


def test_fetch_stops_a_chunked_body_once_it_passes_the_cap(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/stream"] = _chunked(total=2 * 1024 * 1024)

    with pytest.raises(UnsafeURLError) as refused:
        fetch(loopback.url("/stream"), field="first_frame_image", max_bytes=100_000)

    assert refused.value.reason == "too_large"


def test_fetch_uses_the_configured_size_cap_by_default(
    loopback: Loopback, allow_loopback: None, settings: Settings
) -> None:
    settings.OUTBOUND_MAX_BYTES = 64 * 1024
    loopback.routes["/stream"] = _chunked(total=200 * 1024)
    loopback.routes["/small"] = _chunked(total=60 * 1024)

    assert len(fetch(loopback.url("/small"), field="image").body) == 60 * 1024
    with pytest.raises(UnsafeURLError) as refused:
        fetch(loopback.url("/stream"), field="image")
    assert refused.value.reason == "too_large"


def test_fetch_gives_up_on_a_server_slower_than_the_timeout(
    loopback: Loopback, allow_loopback: None, settings: Settings
) -> None:
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.5
    loopback.routes["/slow"] = _sleeper(loopback)

    with pytest.raises(UnsafeURLError) as refused:
        fetch(loopback.url("/slow"), field="first_frame_image")

    assert refused.value.reason == "timeout"


def test_fetch_follows_a_redirect_to_an_allowed_target(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/old"] = _redirect_to("/cat.png", status=301)
    loopback.routes["/cat.png"] = _png

    fetched = fetch(loopback.url("/old"), field="first_frame_image")

    assert fetched.body == PNG
    assert fetched.url == loopback.url("/cat.png")
    assert [h.path for h in loopback.recorder("127.0.0.1").hits] == ["/old", "/cat.png"]


def test_fetch_refuses_a_redirect_to_a_refused_address_without_contacting_it(
    loopback: Loopback, allow_loopback: None
) -> None:
    loopback.routes["/jump"] = _redirect_to(loopback.url("/", host="127.0.0.2"))
    loopback.routes["/"] = _png

    with pytest.raises(UnsafeURLError) as refused:
        fetch(loopback.url("/jump"), field="first_frame_image")

    assert refused.value.reason == "redirect"
    assert "127.0.0.2" in refused.value.message
    assert [h.path for h in loopback.recorder("127.0.0.1").hits] == ["/jump"]
    assert loopback.recorder("127.0.0.2").connections == 0


def test_fetch_stops_after_three_redirects(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/loop"] = _redirect_to("/loop", status=307)

    with pytest.raises(UnsafeURLError) as refused:
        fetch(loopback.url("/loop"), field="first_frame_image")

    assert refused.value.reason == "redirect"
    assert len(loopback.recorder("127.0.0.1").hits) == 4


def test_fetch_reports_a_non_2xx_status(loopback: Loopback, allow_loopback: None) -> None:
    with pytest.raises(UnsafeURLError) as refused:
        fetch(loopback.url("/missing.png"), field="first_frame_image")

    assert refused.value.reason == "http_error"
    assert "404" in refused.value.message


def test_fetch_connects_to_the_checked_address_even_if_the_name_changes(
    loopback: Loopback, settings: Settings, fake_dns: FakeDNS
) -> None:
    # The first answer is checked; a second lookup would point at 127.0.0.2,
    # which listens on the same port. Only the first address may be contacted.
    settings.OUTBOUND_ALLOWED_HOSTS = ["rebind.test"]
    fake_dns.answers["rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    loopback.routes["/cat.png"] = _png

    fetched = fetch(f"http://rebind.test:{loopback.port}/cat.png", field="first_frame_image")

    assert fetched.body == PNG
    assert fake_dns.lookups_of("rebind.test") == 1
    [hit] = loopback.recorder("127.0.0.1").hits
    assert hit.headers["host"] == f"rebind.test:{loopback.port}"
    assert loopback.recorder("127.0.0.2").connections == 0


def test_the_pinned_transport_never_resolves_the_host_name(
    loopback: Loopback, settings: Settings, fake_dns: FakeDNS
) -> None:
    # A public name checked as public, then rebound to another address: the
    # transport must use the address from the check, whatever DNS says now.
    fake_dns.answers["cdn.test"] = [["127.0.0.2"]]
    loopback.routes["/cat.png"] = _png
    url = f"http://cdn.test:{loopback.port}/cat.png"
    checked = ResolvedURL(url=url, scheme="http", host="cdn.test", port=loopback.port, ip="127.0.0.1")

    with httpx.Client(transport=PinnedTransport(checked)) as client:
        response = client.get(checked.url)

    assert response.content == PNG
    assert fake_dns.lookups_of("cdn.test") == 0
    assert loopback.recorder("127.0.0.1").hits[0].headers["host"] == f"cdn.test:{loopback.port}"
    assert loopback.recorder("127.0.0.2").connections == 0


def test_the_pinned_transport_refuses_other_hosts(loopback: Loopback) -> None:
    checked = ResolvedURL(url="http://cdn.test/", scheme="http", host="cdn.test", port=80, ip="127.0.0.1")

    with httpx.Client(transport=PinnedTransport(checked)) as client, pytest.raises(RuntimeError):
        client.get(loopback.url("/"))

    assert loopback.total_connections() == 0


# --- TLS: the connection goes to the address, the certificate is checked on the name


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and a certificate for cdn.test signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    folder = tmp_path_factory.mktemp("tls")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
             cwd=folder)  # fmt: skip
    _openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=cdn.test", cwd=folder)
    (folder / "leaf.ext").write_text("subjectAltName=DNS:cdn.test\n")
    _openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext", cwd=folder)  # fmt: skip
    return folder


@dataclass
class TLSServer:
    port: int
    server_names: list[str | None]
    recorder: Recorder


@pytest.fixture
def tls_server(certificates: Path) -> Iterator[TLSServer]:
    """An https server on 127.0.0.1 holding only the cdn.test certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    server = _Server(("127.0.0.1", 0), socket.AF_INET, {"/cat.png": _png})
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield TLSServer(server.server_address[1], names, server.recorder)
    server.shutdown()
    server.server_close()


def _trusting(certificates: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificates / "ca.pem"))


def test_https_goes_to_the_checked_address_with_the_name_in_sni_and_host(
    tls_server: TLSServer, certificates: Path, settings: Settings, fake_dns: FakeDNS
) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = ["cdn.test"]
    fake_dns.answers["cdn.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    checked = check_url(f"https://cdn.test:{tls_server.port}/cat.png", field="first_frame_image")

    transport = PinnedTransport(checked, verify=_trusting(certificates))
    with httpx.Client(transport=transport) as client:
        response = client.get(checked.url)

    assert response.content == PNG
    assert tls_server.server_names == ["cdn.test"]
    assert tls_server.recorder.hits[0].headers["host"] == f"cdn.test:{tls_server.port}"
    assert fake_dns.lookups_of("cdn.test") == 1


def test_https_certificate_is_verified_against_the_original_name(
    tls_server: TLSServer, certificates: Path, settings: Settings, fake_dns: FakeDNS
) -> None:
    # Same address, but the URL names a host the certificate does not cover.
    settings.OUTBOUND_ALLOWED_HOSTS = ["other.test"]
    fake_dns.answers["other.test"] = [["127.0.0.1"]]
    checked = check_url(f"https://other.test:{tls_server.port}/cat.png", field="first_frame_image")

    transport = PinnedTransport(checked, verify=_trusting(certificates))
    mismatch = r"certificate is not valid for 'other\.test'"
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError, match=mismatch):
        client.get(checked.url)

    assert tls_server.server_names == ["other.test"]
    assert tls_server.recorder.hits == []


# --- post_json -----------------------------------------------------------------


def _accepted(handler: _Handler) -> None:
    handler.reply(202, b'{"received": true}' + b" " * 100_000, {"Content-Type": "application/json", "X-Hook": "yes"})


def test_post_json_delivers_the_body_and_reports_the_answer(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/hook"] = _accepted

    result = post_json(
        loopback.url("/hook"), body=b'{"id": "gen_1"}', headers={"Webhook-Id": "msg_1"}, field="webhook_url"
    )

    assert result.status_code == 202
    assert result.body_excerpt.startswith('{"received": true}')
    assert len(result.body_excerpt) == 1000
    assert result.headers["x-hook"] == "yes"
    assert isinstance(result.latency_ms, int)
    assert result.latency_ms >= 0
    [hit] = loopback.recorder("127.0.0.1").hits
    assert (hit.method, hit.body) == ("POST", b'{"id": "gen_1"}')
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["webhook-id"] == "msg_1"


def test_post_json_returns_a_redirect_without_following_it(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/moved"] = _redirect_to("/hook", status=308)
    loopback.routes["/hook"] = _accepted

    result = post_json(loopback.url("/moved"), body=b"{}", headers={})

    assert result.status_code == 308
    assert result.headers["location"] == "/hook"
    assert [h.path for h in loopback.recorder("127.0.0.1").hits] == ["/moved"]


def test_post_json_does_not_follow_a_redirect_to_loopback(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/jump"] = _redirect_to(loopback.url("/", host="127.0.0.2"))

    result = post_json(loopback.url("/jump"), body=b"{}", headers={})

    assert result.status_code == 302
    assert loopback.recorder("127.0.0.2").connections == 0


def test_post_json_reports_a_timeout(loopback: Loopback, allow_loopback: None) -> None:
    loopback.routes["/slow"] = _sleeper(loopback)

    with pytest.raises(UnsafeURLError) as refused:
        post_json(loopback.url("/slow"), body=b"{}", headers={}, timeout=0.5)

    assert refused.value.reason == "timeout"


def test_post_json_reports_a_refused_connection(allow_loopback: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(UnsafeURLError) as refused:
        post_json(f"http://127.0.0.1:{closed_port}/hook", body=b"{}", headers={})

    assert refused.value.reason == "connect_error"


# --- download_to_file ------------------------------------------------------------


def test_download_streams_the_file_to_disk(loopback: Loopback, allow_loopback: None, tmp_path: Path) -> None:
    loopback.routes["/result.mp4"] = _chunked(total=3 * 1024 * 1024 + 7)
    dest = tmp_path / "result.mp4"

    written = download_to_file(loopback.url("/result.mp4"), dest, max_bytes=10 * 1024 * 1024)

    assert written == 3 * 1024 * 1024 + 7
    assert dest.stat().st_size == written
    assert dest.read_bytes()[16 * 1024] == 1  # the second chunk's fill byte
    assert list(tmp_path.iterdir()) == [dest]


def test_download_over_the_cap_leaves_no_file(loopback: Loopback, allow_loopback: None, tmp_path: Path) -> None:
    loopback.routes["/result.mp4"] = _chunked(total=3 * 1024 * 1024)
    dest = tmp_path / "result.mp4"

    with pytest.raises(UnsafeURLError) as refused:
        download_to_file(loopback.url("/result.mp4"), dest, max_bytes=1024 * 1024)

    assert refused.value.reason == "too_large"
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_an_internal_link_without_contacting_it(
    loopback: Loopback, settings: Settings, tmp_path: Path
) -> None:
    settings.OUTBOUND_ALLOWED_HOSTS = []
    loopback.routes["/result.mp4"] = _chunked(total=1024)

    with pytest.raises(UnsafeURLError) as refused:
        download_to_file(loopback.url("/result.mp4"), tmp_path / "result.mp4", max_bytes=1024 * 1024)

    assert (refused.value.field, refused.value.reason) == ("output", "loopback")
    assert loopback.total_connections() == 0
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_a_redirect_to_loopback(loopback: Loopback, allow_loopback: None, tmp_path: Path) -> None:
    loopback.routes["/result.mp4"] = _redirect_to(loopback.url("/secret", host="127.0.0.2"))

    with pytest.raises(UnsafeURLError) as refused:
        download_to_file(loopback.url("/result.mp4"), tmp_path / "result.mp4", max_bytes=1024 * 1024)

    assert refused.value.reason == "redirect"
    assert loopback.recorder("127.0.0.2").connections == 0
    assert list(tmp_path.iterdir()) == []
