"""Writing media files so that readers only ever see complete ones."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """A temporary path beside `dest`, renamed onto it when the block succeeds.

    Readers never see a half-written file, a failure leaves nothing behind,
    and a second run simply replaces the first result.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Same directory, so the final rename stays on one file system and is atomic.
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
