"""The `hailuo` command run as a subprocess against the live server, as a customer runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from accounts.models import Organization
from billing.selectors import balance_get
from tests.clients.conftest import client_env
from tests.compat.conftest import LIVE
from videogen.media import probe_video
from videogen.models import Generation

pytestmark = [LIVE]


def hailuo(*args: str, key: str, base_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hailuo", *args],
        env=client_env(key, base_url),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generate_saves_a_video_that_decodes_and_draws_a_progress_bar(
    live: str, key_a: str, org_a: Organization, frame_png: Path, tmp_path: Path, settings
) -> None:
    # Longer than the client's 5 s server-side wait per poll, so one poll answers while the job is running.
    settings.SANDBOX_LATENCY_SECONDS = 7
    before = balance_get(org_a).balance_micros
    done = hailuo(
        "generate", "a paper boat", "--image", str(frame_png), "--duration", "6", "-o", "boat.mp4",
        key=key_a, base_url=live, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    saved = tmp_path / "boat.mp4"
    assert done.stdout.strip() == "boat.mp4"  # where it was saved, as given
    info = probe_video(saved)
    assert abs(info.duration_s - 6) < 0.1 and info.codec == "h264"

    bars = [line for line in done.stderr.splitlines() if line.startswith("[")]
    # The bar is drawn while the job is unfinished (queued or running: a busy machine may skip either) and at the end.
    assert len(bars) >= 2 and any(" queued " in line or " running " in line for line in bars[:-1]), done.stderr
    assert bars[-1].startswith("[" + "#" * 30 + "] 100% succeeded"), done.stderr
    assert "Saved gen_" in done.stderr

    job = Generation.objects.get(organization=org_a)
    assert job.input["first_frame_image"].startswith("upl_") and job.input["duration"] == 6
    assert before - balance_get(org_a).balance_micros == job.price_micros


def test_balance_list_get_models_and_cancel(live: str, key_a: str, org_a: Organization, tmp_path: Path) -> None:
    funded = balance_get(org_a).balance_micros
    dollars = f"${funded // 1_000_000}.{funded % 1_000_000 // 10_000:02d}"
    balance = hailuo("balance", key=key_a, base_url=live, cwd=tmp_path)
    assert balance.returncode == 0, balance.stderr
    assert f"Balance:   {dollars}" in balance.stdout and f"Available: {dollars}" in balance.stdout

    started = hailuo("generate", "sandbox:hang a kite", "--no-wait", key=key_a, base_url=live, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()
    assert job_id.startswith("gen_")

    listed = hailuo("list", key=key_a, base_url=live, cwd=tmp_path)
    assert listed.returncode == 0 and job_id in listed.stdout
    got = hailuo("get", job_id, key=key_a, base_url=live, cwd=tmp_path)
    assert got.returncode == 0 and job_id in got.stdout

    canceled = hailuo("cancel", job_id, key=key_a, base_url=live, cwd=tmp_path)
    assert canceled.returncode == 0, canceled.stderr
    assert f"{job_id}  canceled" in canceled.stdout
    assert balance_get(org_a).balance_micros == funded  # nothing charged for the canceled job
    assert balance_get(org_a).held_micros == 0

    models = hailuo("models", key=key_a, base_url=live, cwd=tmp_path)
    assert models.returncode == 0 and "hailuo-02-fast" in models.stdout and "$" in models.stdout


def test_errors_are_explained_with_non_zero_exit_codes(live: str, key_a: str, tmp_path: Path) -> None:
    missing = hailuo("get", "gen_doesnotexist", key=key_a, base_url=live, cwd=tmp_path)
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr and "Traceback" not in missing.stderr

    invalid = hailuo("generate", "a kite", "--duration", "7", key=key_a, base_url=live, cwd=tmp_path)
    assert invalid.returncode == 1
    assert "field duration" in invalid.stderr and "HTTP 400" in invalid.stderr

    failed = hailuo("generate", "sandbox:fail a kite", "-q", key=key_a, base_url=live, cwd=tmp_path)
    assert failed.returncode == 3 and "failed" in failed.stderr and "nothing was charged" in failed.stderr

    no_key = hailuo("balance", key="", base_url=live, cwd=tmp_path)
    assert no_key.returncode == 2 and "HAILUO_API_KEY" in no_key.stderr

    wrong_key = hailuo("balance", key="sk_wrong", base_url=live, cwd=tmp_path)
    assert wrong_key.returncode == 1 and "HTTP 401" in wrong_key.stderr

    no_file = hailuo("generate", "a kite", "--image", "nope.png", key=key_a, base_url=live, cwd=tmp_path)
    assert no_file.returncode == 2 and "nope.png" in no_file.stderr
