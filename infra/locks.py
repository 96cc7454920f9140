"""One writer per alias on a host: a second run fails at once with a clear message."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.files import try_lock
from infra.store.base import StoreError

# flock belongs to an open file, so a writer nested in another (the pipeline's index flow and
# promotion) would lock itself out: the lock is re-entrant within this process.
_held: dict[Path, int] = {}
_guard = threading.Lock()


@contextmanager
def alias_lock(directory: Path, alias: str) -> Iterator[None]:
    """Hold an exclusive lock named for ``alias`` while this process writes or promotes it.

    Across hosts, the deployments' concurrency limit (one run at a time) does the same job.
    """
    path = directory / f"{alias}.lock"
    with _guard:
        if path in _held:
            _held[path] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _guard:
                _held[path] -= 1
        return
    handle = try_lock(path)
    if handle is None:
        holder = path.read_text().strip() or "another process"
        raise StoreError(
            f"another run ({holder}) is writing alias {alias!r}: wait for it to finish, "
            "or give this run another alias (LOOKALIKE_ALIAS)."
        )
    with handle:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        with _guard:
            _held[path] = 1
        try:
            yield
        finally:
            with _guard:
                del _held[path]
            handle.truncate(0)
