from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.locks import alias_lock
from infra.store import StoreError


def test_a_second_writer_of_the_same_alias_fails_clearly(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import time, sys; from pathlib import Path; from infra.locks import alias_lock\n"
                f"with alias_lock(Path({str(tmp_path)!r}), 'lookalike-x'):\n"
                "    print('held', flush=True); time.sleep(30)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = rf"another run \(pid {holder.pid}\) is writing"
        with pytest.raises(StoreError, match=busy), alias_lock(tmp_path, "lookalike-x"):
            pass
        with alias_lock(tmp_path, "lookalike-y"):  # another alias is free
            pass
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    with alias_lock(tmp_path, "lookalike-x"):  # released when its holder dies
        pass


def test_the_lock_is_taken_once_per_run_never_nested(tmp_path: Path) -> None:
    """Not re-entrant, even in one process: a step of a run that took it again would fail,
    so the pipeline's tests show it is taken once."""
    with (
        alias_lock(tmp_path, "lookalike-x"),
        pytest.raises(StoreError, match="is writing alias"),
        alias_lock(tmp_path, "lookalike-x"),
    ):
        pass
    with alias_lock(tmp_path, "lookalike-x"):  # released on the way out
        pass
