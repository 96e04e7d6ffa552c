"""fal's official Python client (fal-client 1.0.3), unmodified, against the live server over TLS.

The client always speaks https and takes its hosts from `FAL_QUEUE_RUN_HOST` and
`FAL_RUN_HOST`, read once when it is imported. So each scenario runs as customer
code in its own Python process with only the environment changed: those two hosts,
`FAL_KEY`, and `SSL_CERT_FILE` (which httpx honours) trusting the certificate of a
small TLS front on loopback that forwards bytes to the live server.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from accounts import services as account_services
from billing import services as billing_services
from billing.selectors import balance_get
from tests.compat.conftest import LIVE, fund
from videogen.media import probe_video
from videogen.models import Generation, Source, Status

pytestmark = LIVE

I2V = "fal-ai/minimax/hailuo-02/standard/image-to-video"
PRO_T2V = "fal-ai/minimax/hailuo-02/pro/text-to-video"
FAST = "fal-ai/minimax/hailuo-02-fast/image-to-video"


# --- a TLS front on loopback ---------------------------------------------------------------


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (also its own CA, so it can be trusted as one file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class TlsFront:
    """Terminates TLS on a loopback port and forwards each connection's bytes to the live server."""

    def __init__(self, target_port: int, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, name="tls-front", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            connection.settimeout(30)
            tls = self.context.wrap_socket(connection, server_side=True)
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
        except (OSError, ssl.SSLError):
            connection.close()
            return
        try:
            self._pump(tls, upstream)
        except (OSError, ssl.SSLError):
            pass
        finally:
            upstream.close()
            tls.close()

    def _pump(self, tls: ssl.SSLSocket, upstream: socket.socket) -> None:
        """One thread per connection moves bytes both ways (an SSL socket is not shared between threads)."""
        while not self.stopping.is_set():
            readable = [tls] if tls.pending() else select.select([tls, upstream], [], [], 1.0)[0]
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is tls else tls).sendall(data)

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()


@dataclass(frozen=True)
class Https:
    host: str  # 127.0.0.1:<port>, what FAL_QUEUE_RUN_HOST is set to
    cert: Path


@pytest.fixture
def https(live: str, settings, tmp_path: Path) -> Iterator[Https]:
    """The live server behind TLS; links it hands out (status, result, videos) are https on the front."""
    cert, key = make_certificate(tmp_path)
    front = TlsFront(urlsplit(live).port or 80, cert, key)
    host = f"127.0.0.1:{front.port}"
    settings.PUBLIC_BASE_URL = f"https://{host}"
    yield Https(host, cert)
    front.stop()


# --- customer code in its own process -------------------------------------------------------

PRELUDE = """
import json, os
import fal_client

ARGS = json.loads(os.environ["TEST_ARGS"])


def out(**values):
    print(json.dumps(values))


def failure(exc):
    assert isinstance(exc, fal_client.FalClientHTTPError), type(exc)
    return {"status": exc.status_code, "message": exc.message, "error_type": exc.error_type}
"""


def customer(https: Https, key: str, code: str, **args: Any) -> dict[str, Any]:
    """Run `code` as a customer would, with only the fal environment variables pointing at us."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FAL_")}
    env.update(
        FAL_KEY=key,
        FAL_QUEUE_RUN_HOST=https.host,
        FAL_RUN_HOST=f"{https.host}/fal-run",
        SSL_CERT_FILE=str(https.cert),
        TEST_ARGS=json.dumps(args),
    )
    script = textwrap.dedent(PRELUDE) + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def download(https: Https, url: str, path: Path) -> Path:
    assert url.startswith(f"https://{https.host}/files/"), url
    response = requests.get(url, timeout=30, verify=str(https.cert))
    assert response.status_code == 200, response.text[:300]
    path.write_bytes(response.content)
    return path


@pytest.fixture
def drained(org_a, alice) -> None:
    available = balance_get(org_a).available_micros
    billing_services.credits_adjust(organization=org_a, amount_micros=-available, reason="test", staff_user=alice)


# --- scenarios -------------------------------------------------------------------------------


def test_subscribe_gets_a_video_of_the_asked_duration(https: Https, key_a: str, org_a, frames, tmp_path) -> None:
    before = balance_get(org_a)
    answer = customer(
        https,
        key_a,
        """
        updates, enqueued = [], []
        result = fal_client.subscribe(
            ARGS["app"],
            arguments={"prompt": "a paper boat on a pond", "image_url": ARGS["image"], "duration": "10"},
            with_logs=True,
            on_enqueue=enqueued.append,
            on_queue_update=lambda status: updates.append(type(status).__name__),
        )
        out(result=result, updates=updates, request_id=enqueued[0])
        """,
        app=I2V,
        image=frames.first,
    )

    video = answer["result"]["video"]
    info = probe_video(download(https, video["url"], tmp_path / "subscribe.mp4"))
    assert abs(info.duration_s - 10) < 0.1
    assert info.height == 768
    assert answer["updates"][-1] == "Completed"
    generation = Generation.objects.get(public_id=answer["request_id"])
    assert (generation.source, generation.status, generation.model) == (Source.FAL, Status.SUCCEEDED, "hailuo-02")
    assert video["file_size"] == generation.output_bytes
    assert video["file_name"] == f"{generation.public_id}.mp4"
    assert balance_get(org_a).balance_micros == before.balance_micros - generation.price_micros


def test_submit_then_get_and_status_and_result_by_request_id(https: Https, key_a: str, tmp_path) -> None:
    answer = customer(
        https,
        key_a,
        """
        handle = fal_client.submit(ARGS["app"], arguments={"prompt": "a lighthouse in fog"})
        result = handle.get()
        status = fal_client.status(ARGS["app"], handle.request_id, with_logs=True)
        again = fal_client.result(ARGS["app"], handle.request_id)
        out(
            request_id=handle.request_id,
            status_url=handle.status_url,
            result=result,
            status=type(status).__name__,
            logs=[line["message"] for line in status.logs],
            again=again["video"]["file_name"],
        )
        """,
        app=PRO_T2V,
    )

    assert answer["status_url"] == f"https://{https.host}/fal-ai/minimax/requests/{answer['request_id']}/status"
    assert answer["status"] == "Completed"
    assert answer["logs"][0].startswith("queued") and answer["logs"][-1].startswith("succeeded")
    assert answer["again"] == answer["result"]["video"]["file_name"]
    info = probe_video(download(https, answer["result"]["video"]["url"], tmp_path / "pro.mp4"))
    assert (info.height, abs(info.duration_s - 6) < 0.1) == (1080, True)


def test_run_on_the_run_host_answers_with_the_output(https: Https, key_a: str, frames, tmp_path) -> None:
    answer = customer(
        https,
        key_a,
        """
        out(result=fal_client.run(ARGS["app"], arguments={"prompt": "leaves in wind", "image_url": ARGS["image"]}))
        """,
        app=FAST,
        image=frames.first,
    )

    info = probe_video(download(https, answer["result"]["video"]["url"], tmp_path / "run.mp4"))
    assert (info.height, abs(info.duration_s - 6) < 0.1) == (512, True)
    assert Generation.objects.get().model == "hailuo-02-fast"


def test_insufficient_credit_raises_the_clients_error_and_charges_nothing(
    https: Https, key_a: str, org_a, drained
) -> None:
    before = balance_get(org_a)
    answer = customer(
        https,
        key_a,
        """
        try:
            fal_client.subscribe(ARGS["app"], arguments={"prompt": "a quiet street"})
        except Exception as exc:
            out(error=failure(exc))
        """,
        app=PRO_T2V,
    )

    assert answer["error"]["status"] == 403
    assert answer["error"]["message"].startswith("Exhausted balance.")
    assert balance_get(org_a) == before
    assert not Generation.objects.exists()


def test_a_canceled_request_is_not_charged(https: Https, key_a: str, org_a) -> None:
    before = balance_get(org_a)
    answer = customer(
        https,
        key_a,
        """
        handle = fal_client.submit(ARGS["app"], arguments={"prompt": "sandbox:hang forever"})
        fal_client.cancel(ARGS["app"], handle.request_id)
        status = handle.status()
        try:
            handle.get()
        except Exception as exc:
            out(request_id=handle.request_id, status=type(status).__name__, error=status.error, result=failure(exc))
        """,
        app=PRO_T2V,
    )

    assert answer["status"] == "Completed"
    assert "canceled" in answer["error"]
    assert answer["result"]["status"] == 400
    assert Generation.objects.get(public_id=answer["request_id"]).status == Status.CANCELED
    assert balance_get(org_a) == before


def test_a_failed_request_raises_the_clients_error_and_charges_nothing(https: Https, key_a: str, org_a) -> None:
    before = balance_get(org_a)
    answer = customer(
        https,
        key_a,
        """
        try:
            fal_client.subscribe(ARGS["app"], arguments={"prompt": "sandbox:fail this one"})
        except Exception as exc:
            out(error=failure(exc))
        """,
        app=PRO_T2V,
    )

    assert answer["error"]["status"] == 422
    assert answer["error"]["message"][0]["type"] == "content_policy_violation"
    assert Generation.objects.get().status == Status.FAILED
    assert balance_get(org_a) == before


def test_invalid_input_and_a_wrong_key_raise_the_clients_error(https: Https, key_a: str) -> None:
    answer = customer(
        https,
        key_a,
        """
        try:
            fal_client.submit(ARGS["app"], arguments={"prompt": "no image", "duration": "6"})
        except Exception as exc:
            out(error=failure(exc))
        """,
        app=I2V,
    )
    wrong = customer(
        https,
        "not-a-key",
        """
        try:
            fal_client.submit(ARGS["app"], arguments={"prompt": "x"})
        except Exception as exc:
            out(error=failure(exc))
        """,
        app=PRO_T2V,
    )

    assert answer["error"]["status"] == 422
    assert answer["error"]["message"][0]["loc"] == ["body", "image_url"]
    assert wrong["error"]["status"] == 401
    assert not Generation.objects.exists()


def test_another_organizations_request_id_is_404(https: Https, key_a: str, carol, org_b) -> None:
    mine = customer(
        https,
        key_a,
        """
        out(request_id=fal_client.submit(ARGS["app"], arguments={"prompt": "sandbox:hang"}).request_id)
        """,
        app=PRO_T2V,
    )
    _, carols_key = account_services.api_key_create(organization=org_b, name="carol's key", created_by=carol)
    fund(org_b)

    theirs = customer(
        https,
        carols_key,
        """
        errors = []
        for call in (fal_client.status, fal_client.cancel):
            try:
                call(ARGS["app"], ARGS["request_id"])
            except Exception as exc:
                errors.append(failure(exc)["status"])
        try:
            fal_client.SyncClient().get_handle(ARGS["app"], ARGS["request_id"]).get()
        except Exception as exc:
            errors.append(failure(exc)["status"])
        out(errors=errors)
        """,
        app=PRO_T2V,
        request_id=mine["request_id"],
    )

    assert theirs["errors"] == [404, 404, 404]
    assert Generation.objects.get(public_id=mine["request_id"]).status in (Status.QUEUED, Status.RUNNING)
