"""Small files written so that a concurrent reader never sees half of one, and lock files."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any


def write_json_atomically(path: Path, data: Any) -> None:
    """Write-then-rename: a concurrent reader sees the old file or the new one, never half."""
    _replace(path, json.dumps(data, indent=1, sort_keys=True))


def write_json_lines_atomically(path: Path, rows: Iterable[Any]) -> None:
    """JSON Lines, one object per row, replaced the same way."""
    _replace(path, "".join(json.dumps(row) + "\n" for row in rows))


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def try_lock(path: Path, shared: bool = False) -> IO[str] | None:
    """An open file holding a lock on ``path``, or None while a holder keeps it from us:
    exclusive (one holder), or ``shared`` (any number of shared holders, no exclusive one).

    flock belongs to the open file: a second open of the same path, also in this process, is
    refused an exclusive lock; closing the file (or the holder's death) releases the lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - the caller holds it as the lock
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
