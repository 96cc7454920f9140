"""Prefect's temporary API server must not outlive the command that started it.

Without ``PREFECT_API_URL`` each command starts a temporary Prefect server as a child process
and stops it at exit; a SIGKILL skips that exit, and the server ran on, orphaned. Prefect has no
setting for this, so on Linux the child is started with a parent-death signal: the kernel stops
it when the command dies, however it dies.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # SIGKILL, not SIGTERM: uvicorn shuts down gracefully on SIGTERM, which with the client
    # gone could take long; the server keeps nothing that a kill can corrupt (SQLite).
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _DyingSubprocess:
    """The ``subprocess`` module as Prefect's server module sees it, but for ``Popen``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        return subprocess.Popen(*args, preexec_fn=_die_with_parent, **kwargs)  # type: ignore[call-overload]


def tie_temporary_server_to_this_process() -> None:
    if sys.platform != "linux" or os.environ.get("PREFECT_API_URL"):
        return
    from prefect.server.api import server

    server.subprocess = _DyingSubprocess()  # type: ignore[assignment]
