"""How much memory a benchmark's process holds: Linux's figures, read one way for all."""

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
