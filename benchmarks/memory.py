"""How much memory a benchmark's process holds, and what it costs the machine: Linux's figures,
read one way for all."""

from __future__ import annotations

import resource
import threading
from pathlib import Path


def anon_mb() -> float:
    """Resident anonymous memory (RssAnon): what the process must keep in RAM, the store's
    memory-mapped files left out (the kernel drops their pages under pressure)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no RssAnon in /proc/self/status (Linux only)")


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, mapped files included."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def written_mb() -> float:
    """Bytes this process has sent, or left dirty, for storage so far (``write_bytes``): the
    store's memory-mapped files count as they are dirtied, not only ``write`` calls."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError("no write_bytes in /proc/self/io (Linux only)")


def cpu_seconds() -> tuple[float, float]:
    """``(user, system)`` CPU seconds of this process so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


class PeakAnonymous:
    """The peak of :func:`anon_mb`, sampled every 50 ms while inside."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, anon_mb())
            if self._stop.wait(0.05):
                return

    def __enter__(self) -> PeakAnonymous:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
