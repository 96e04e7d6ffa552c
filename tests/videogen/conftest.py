"""S3 on loopback: moto's S3 server, and a fixture that makes it the default storage for one test.

Every other test stores files locally (the autouse `_isolated_files` fixture in
tests/conftest.py); tests that take `s3` switch the default storage to
`storages.backends.s3.S3Storage` against moto, built by the same
`videogen.settings.s3_storage` that production uses.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from videogen.settings import s3_storage

REGION = "eu-west-3"
ACCESS_KEY, SECRET_KEY = "AKIATESTINGMOTO00000", "moto-testing-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto_unavailable(reason: str) -> None:
    """CI (REQUIRE_S3=1) fails here instead of skipping the S3 tests."""
    if os.environ.get("REQUIRE_S3") == "1":
        pytest.fail(f"REQUIRE_S3=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """`python -m moto.server` on a free loopback port; yields its endpoint URL."""
    port = _free_port()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        _moto_unavailable(f"moto's S3 server could not start: {exc}")
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                error = process.communicate()[1].decode(errors="replace")[-2000:]
                _moto_unavailable(f"moto's S3 server did not start on port {port}: {error or 'no output'}")
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Bucket:
    name: str
    endpoint_url: str
    client: Any  # a boto3 S3 client on moto, to look at the bucket directly

    def names(self) -> list[str]:
        return [item["Key"] for item in self.client.list_objects_v2(Bucket=self.name).get("Contents", [])]


def make_bucket(endpoint_url: str) -> Bucket:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    name = f"videos-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return Bucket(name, endpoint_url, client)


@pytest.fixture
def s3(moto_server: str, settings: Any) -> Bucket:
    """A fresh bucket in eu-west-3 on moto as the default storage (instead of this test's local folder)."""
    bucket = make_bucket(moto_server)
    settings.STORAGE_BACKEND = "s3"
    settings.S3_REGION = REGION
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(
            bucket=bucket.name,
            endpoint_url=moto_server,
            region=REGION,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            style="path",
        ),
    }
    return bucket
