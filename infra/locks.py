"""One writer per alias on a host: a second run fails at once with a clear message."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.store.base import StoreError


@contextmanager
def alias_lock(directory: Path, alias: str) -> Iterator[None]:
    """Hold an exclusive lock named for ``alias`` while a run writes or promotes it.

    Across hosts, the deployments' concurrency limit (one run at a time) does the same job.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{alias}.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreError(
                f"another run ({holder}) is writing alias {alias!r}: wait for it to finish, "
                "or give this run another alias (LOOKALIKE_ALIAS)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
