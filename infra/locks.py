"""One writer per alias on a host: a second run fails at once with a clear message.

The flow that writes takes the lock once for its whole run (the pipeline, a re-index, a
standalone index, a promotion or a prune from the command line); what it calls runs under it
and never takes it again. flock belongs to an open file, so a second taking, in this process
too, is refused like another process's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.files import try_lock
from infra.store.base import StoreError


@contextmanager
def alias_lock(directory: Path, alias: str) -> Iterator[None]:
    """Hold an exclusive lock named for ``alias`` while this run writes or promotes it.

    Across hosts, the deployments' concurrency limit (one run at a time) does the same job.
    """
    path = directory / f"{alias}.lock"
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
        try:
            yield
        finally:
            handle.truncate(0)
