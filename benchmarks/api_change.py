"""The API under change: wrk's load runs while the served index is re-indexed and swapped, on
the embedded store, and every answer is checked against the collection that gave it.

After `lookalike run` (the 70,000-item Fashion-MNIST index), in one run on loopback:

1. steady state: the load alone;
2. under change, the load goes on while these commands run one after another:
   a. `index build` with the served model over a changed catalog (10 test items fewer): the
      served collection is copied into a new revision, brought in line, evaluated, gated and
      promoted;
   b. `train` a new model (one epoch on 10,000 items: quick, and weaker) and `index build` the
      whole catalog with it; the gate refuses it, so `promote` serves it by hand;
   c. `index build` with the first model over the whole catalog again: its newest revision,
      no longer served, is written in place, passes the gate against the weaker model and is
      served again, so the run ends as it began, on a 70,000-point index of the first model.

The load is wrk at concurrency 4 in consecutive windows (the same script for both phases); a
Lua hook tallies each answer's status and its collection and point-count headers. An answer
comes from a complete collection when that count is the one recorded when the collection was
finalized. `python -m benchmarks.api_change` (about 5 minutes).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.api import api_running, engine, parse_wrk, run_wrk
from benchmarks.common import write
from infra.settings import Settings
from infra.store import open_store

TALLY = """
counter = 0
tally = {}
threads = {}
function setup(thread) table.insert(threads, thread) end
request = function()
  counter = counter + 1
  return wrk.format("GET", "/v1/similar/items/test-" .. (counter % 9990) .. "?k=10")
end
response = function(status, headers, body)
  local key = (headers["x-lookalike-collection"] or "none") .. "=" ..
    (headers["x-lookalike-points"] or "-1") .. "=" .. status
  tally[key] = (tally[key] or 0) + 1
end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    for key, n in pairs(t:get("tally")) do io.write("TALLY " .. key .. " " .. n .. "\\n") end
  end
end
"""
Tally = dict[tuple[str, int, int], int]


def window(url: str, script: Path, seconds: int) -> tuple[dict[str, float], Tally]:
    out = run_wrk(url, script, 4, seconds)
    tally: Tally = {}
    for key, n in re.findall(r"^TALLY (\S+) (\d+)$", out, re.M):
        collection, points, status = key.rsplit("=", 2)
        k = (collection, int(points), int(status))
        tally[k] = tally.get(k, 0) + int(n)
    return parse_wrk(out), tally


def lookalike(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("lookalike")), *args]


class Changes(threading.Thread):
    """Runs the change commands in order, timing each; stops at the first failure."""

    def __init__(self, checkpoint: str, log: Path) -> None:
        super().__init__(daemon=True)
        self.checkpoint, self.log = checkpoint, log
        self.steps: list[dict[str, Any]] = []
        self.error: str | None = None

    def _run(self, what: str, cmd: list[str], env: dict[str, str] | None = None) -> str:
        start = time.perf_counter()
        with self.log.open("a") as log:
            log.write(f"\n$ {' '.join(cmd[1:])} {env or ''}\n")
        done = subprocess.run(
            cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True
        )
        with self.log.open("a") as log:
            log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"{what} failed: see {self.log}")
        self.steps.append({"step": what, "seconds": time.perf_counter() - start})
        return done.stdout

    def run(self) -> None:
        try:
            fewer = {"LOOKALIKE_TEST_LIMIT": "9990"}
            self._run(
                "a. re-index 10 items fewer (copy), gate, promote",
                lookalike("index", "build", "--checkpoint", self.checkpoint),
                fewer,
            )
            out = self._run(
                "b. train a quick model (1 epoch, 10,000 items)",
                lookalike("train", "--epochs", "1"),
                {"LOOKALIKE_TRAIN_LIMIT": "10000"},
            )
            m = re.search(r"model (\S+) written to (\S+)", out)
            assert m, out
            self._run(
                "b. index the catalog with it (the gate refuses)",
                lookalike("index", "build", "--checkpoint", m[2]),
            )
            self._run("b. promote it by hand", lookalike("promote", m[1]))
            self._run(
                "c. re-index with the first model (in place), gate, promote",
                lookalike("index", "build", "--checkpoint", self.checkpoint),
            )
        except Exception as exc:  # noqa: BLE001 - reported in the results
            self.error = str(exc)


def complete_counts(settings: Settings) -> dict[str, int]:
    """Each complete collection's recorded point count (metadata only: nothing is opened)."""
    with open_store(settings.store) as store:
        metas = {c: store.metadata(c) for c in store.list_collections()}
    return {c: int(m["points"]) for c, m in metas.items() if m.get("complete") and "points" in m}


def summarise(windows: list[tuple[dict[str, float], Tally]]) -> dict[str, Any]:
    stats = [w for w, _ in windows]
    return {
        "windows": len(windows),
        "requests": sum(int(s["requests"]) for s in stats),
        "requests_per_s": statistics.mean(s["requests_per_s"] for s in stats),
        "p50_ms": statistics.median(s["p50_ms"] for s in stats),
        "p99_ms": max(s["p99_ms"] for s in stats),
        "failed": sum(int(s["failed"]) for s in stats),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=2, help="each wrk window")
    parser.add_argument("--steady", type=int, default=10, help="steady windows")
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--workers", type=int, default=1, help="the API's worker processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark drives the load with wrk: apt-get install wrk")
    settings = Settings()
    with open_store(settings.store) as store:
        first = store.resolve(settings.served_alias)
        checkpoint = str(store.metadata(first)["checkpoint"])
    bare = engine(2000)  # before the API holds the index
    steady: list[tuple[dict[str, float], Tally]] = []
    during: list[tuple[dict[str, float], Tally]] = []
    workers = ["--workers", str(args.workers)]
    with api_running(args.port, extra=workers) as url, tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "tally.lua"
        script.write_text(TALLY)
        changes = Changes(checkpoint, settings.home / "runs" / "bench-api-change.log")
        snaps = [complete_counts(settings)]
        for _ in range(args.steady):
            steady.append(window(url, script, args.seconds))
            snaps.append(complete_counts(settings))
        changes.start()
        while changes.is_alive():
            during.append(window(url, script, args.seconds))
            snaps.append(complete_counts(settings))
    report(settings, first, bare, steady, during, changes, snaps, args.workers)


def report(
    settings: Settings,
    first: str,
    bare: dict[str, float],
    steady: list[tuple[dict[str, float], Tally]],
    during: list[tuple[dict[str, float], Tally]],
    changes: Changes,
    snaps: list[dict[str, int]],
    workers: int = 1,
) -> None:
    with open_store(settings.store) as store:
        final = store.resolve(settings.served_alias)
    tally: Tally = {}
    for _, t in steady + during:
        for k, n in t.items():
            tally[k] = tally.get(k, 0) + n
    # An answer is from a complete collection when its point count is the one the collection
    # had, complete, just before or just after its window (a revision no longer served may be
    # re-written in place later, so the final count is not the test).
    incomplete = 0
    for i, (_, t) in enumerate(steady + during):
        valid = set(snaps[i].items()) | set(snaps[i + 1].items())
        incomplete += sum(n for (c, p, _), n in t.items() if (c, p) not in valid)
    swaps = [w for w in during if len({c for c, _, _ in w[1]}) > 1]
    not_ok = sum(n for (_, _, status), n in tally.items() if status != 200)
    seen = sorted({(c, p) for c, p, _ in tally})
    blank = {"windows": "-", "requests": "-", "requests_per_s": "-"}
    rows = [
        {"phase": "engine in-process, c=1", **blank, **bare, "failed": "-"},
        {"phase": "steady state", **summarise(steady)},
        {"phase": "during re-index and swaps", **summarise(during)},
        {"phase": "windows with a swap (answers from two collections)", **summarise(swaps)},
    ]
    extra = {
        "steps": changes.steps,
        "change_error": changes.error,
        "answers_by_collection": {
            f"{c} ({p} points)": sum(n for k, n in tally.items() if k[:2] == (c, p))
            for c, p in seen
        },
        "answers_not_200": not_ok,
        "answers_from_incomplete_collections": incomplete,
        "served_before": first,
        "served_after": final,
        "workers": workers,
    }
    name = "api_change" if workers == 1 else f"api_change-{workers}-workers"
    md = write(name, rows, extra)
    lines = ["", "| change (while the load runs) | seconds |", "|---|---|"]
    lines += [f"| {s['step']} | {s['seconds']:.1f} |" for s in changes.steps]
    md.write_text(md.read_text() + "\n".join(lines) + "\n")
    print(md.read_text())
    for step in changes.steps:
        print(f"  {step['step']}: {step['seconds']:.1f} s")
    print(f"answers by collection: {extra['answers_by_collection']}")
    print(
        f"not 200: {not_ok}; from an incomplete collection: {incomplete}; served {first} -> {final}"
    )
    if changes.error:
        raise SystemExit(changes.error)


if __name__ == "__main__":
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
