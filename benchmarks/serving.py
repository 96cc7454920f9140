"""Serving at the engine's speed, side by side in one run, on loopback only.

Against the served index (run after `lookalike run`): the bare engine (qdrant-edge's own
``EdgeShard.query``, no Lookalike code) in one process and in two at once; Lookalike's query
path in-process beside it (its own cost); the API with one worker and with one per core at
concurrency 1, 4 and 16 (wrk, a connection per client, each request a different test item);
the `/healthz` floor; and item queries alone against item queries while photos are uploaded
beside them at a tenth of their rate.

`python -m benchmarks.serving [--seconds 8] [--workers 2]`. No numpy scan is timed (the
baseline is the engine itself), so OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE play no part.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.api import ITEMS, ROTATE, api_running, item_png, wrk
from benchmarks.common import write

RUNS = 3000
COLS = ["what", "workers", "concurrency", "p50_ms", "p99_ms", "requests_per_s", "queries_per_s"]
COLS += ["failed"]
IDS = [f"test-{i}" for i in range(ITEMS)]
SERVER_ROWS = {
    "engine": "qdrant-client :memory:, query by point id",
    "lookalike": "Lookalike's query, :memory:",
    "own": "Lookalike's own time in that query (outside the client's call)",
}


def _summary(times: list[float]) -> dict[str, float]:
    times = sorted(t * 1e3 for t in times)
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[int(0.99 * len(times))],
        "queries_per_s": len(times) / (sum(times) / 1e3),
    }


Timed = list[tuple[str, Callable[[int], object]]]


def _alternate(pair: Timed, runs: int, items: int = ITEMS) -> dict[str, list[float]]:
    """Each of ``pair`` timed query by query in a rotating order, each on an item of its own (a
    repeated item would find the caches warm for whichever asks second)."""
    times: dict[str, list[float]] = {what: [] for what, _ in pair}
    for i in range(runs):
        for n, (what, fn) in enumerate(pair[i % 2 :] + pair[: i % 2]):
            j = (2 * i + n * 4999) % items
            start = time.perf_counter()
            fn(j)
            times[what].append(time.perf_counter() - start)
    return times


def in_process(runs: int) -> dict[str, dict[str, float]]:
    """The bare engine and Lookalike's query path on the served embedded collection."""
    import qdrant_edge as qe

    from infra.settings import Settings
    from infra.store import open_store
    from search.metadata import read_meta
    from search.query import point_ids

    settings = Settings()
    with open_store(settings.store, read_only=True) as store:
        name = store.resolve(settings.served_alias)
        meta = read_meta(store, name)
        pids = point_ids(store, name, IDS, meta)
        shard = store._shard(name)  # type: ignore[attr-defined]  # the engine object itself
        params = qe.SearchParams(hnsw_ef=store.index.hnsw_ef)  # type: ignore[attr-defined]

        def bare(j: int) -> None:
            # What any consumer of the engine does for "more like this item": the item's vector
            # by its point id, the search without the item, each hit's id, score and payload.
            (record,) = shard.retrieve([pids[j]], with_payload=False, with_vector=True)
            request = qe.QueryRequest(
                query=qe.Query.Nearest(list(record.vector)),
                filter=qe.Filter(must_not=[qe.HasIdCondition({pids[j]})]),
                limit=10,
                params=params,
                with_payload=True,
            )
            for p in shard.query(request):
                p.id, p.score, p.payload  # noqa: B018 - read, as a consumer would

        times = _alternate([("engine", bare), ("lookalike", _ours(store, name))], runs)
    return {what: _summary(t) for what, t in times.items()}


def _ours(store: Any, name: str) -> Callable[[int], object]:
    from search.metadata import read_meta
    from search.options import QueryOptions
    from search.query import ByItem, ask

    meta, opts = read_meta(store, name), QueryOptions(k=10)
    return lambda j: ask(store, name, ByItem(IDS[j]), opts, meta)


def in_process_server(runs: int, items: int = 2000) -> dict[str, dict[str, float]]:
    """The same on the server backend's code path: qdrant-client's ``:memory:`` mode holding
    ``items`` of the served collection's test items. Its engine is an exact scan in Python, far
    slower than a server, so the figure to read is Lookalike's own time: each query's time
    less the time spent inside the client's call (``own``)."""
    from infra.settings import Settings
    from infra.store import PointBatch, open_store
    from infra.store.base import CollectionSpec
    from infra.store.server import ServerConfig, ServerStore
    from search.metadata import read_meta
    from search.query import point_ids

    settings = Settings()
    server = ServerStore(ServerConfig(":memory:"))
    with open_store(settings.store, read_only=True) as store:
        name = store.resolve(settings.served_alias)
        pids = point_ids(store, name, IDS[:items], read_meta(store, name))
        vectors, payloads = store.vectors(name, pids), store.payloads(name, pids)
        server.ensure_collection(CollectionSpec(name, store.dimension(name)))
        rows = np.stack([vectors[p] for p in pids])
        server.upsert(name, PointBatch(pids, rows, [payloads[p] for p in pids]))
        server.finalize(name)
        server.set_metadata(name, store.metadata(name))
    client, inside = server.client, []
    batch = client.query_batch_points  # what the store's query by point id calls

    def timed_batch(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return batch(*args, **kwargs)
        finally:
            inside.append(time.perf_counter() - start)

    client.query_batch_points = timed_batch  # type: ignore[method-assign]

    def bare(j: int) -> None:
        for p in client.query_points(name, query=pids[j], limit=10, with_payload=True).points:
            p.id, p.score, p.payload  # noqa: B018 - read, as a consumer would

    # The :memory: mode holds its points as Python objects: frozen out of the collector, so
    # a collection of them is not charged to whichever code happens to allocate next.
    gc.collect()
    gc.freeze()
    with server:
        times = _alternate([("engine", bare), ("lookalike", _ours(server, name))], runs, items)
    gc.unfreeze()
    own = [t - i for t, i in zip(times["lookalike"], inside, strict=True)]
    return {what: _summary(t) for what, t in times.items()} | {"own": _summary(own)}


def two_processes(runs: int) -> list[dict[str, float]]:
    """The bare engine in two processes at once, each opening the served collection."""
    code = (
        "import json; from benchmarks.serving import in_process;"
        f"print(json.dumps(in_process({runs})['engine']))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    import json

    return [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]


def photos_beside(url: str, rate: float, stop: threading.Event, png: bytes) -> int:
    """Upload ``png`` ``rate`` times a second until ``stop``; how many were answered 200."""
    ok = 0
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            start = time.monotonic()
            r = client.post(f"{url}/v1/similar/image?k=10", files={"file": ("x.png", png)})
            ok += r.status_code == 200
            stop.wait(max(0.0, 1 / rate - (time.monotonic() - start)))
    return ok


def item_queries_beside_photos(
    url: str, rotate: Path, seconds: int, alone_rps: float, png: bytes
) -> dict[str, Any]:
    """wrk's item queries at concurrency 16 while ``png`` is uploaded, one at a time, at up to
    a tenth of the rate the item queries reached alone; ``photos_per_s`` is the rate reached."""
    stop, answered = threading.Event(), []
    side = threading.Thread(
        target=lambda: answered.append(photos_beside(url, alone_rps / 10, stop, png))
    )
    start = time.monotonic()
    side.start()
    try:
        got = wrk(url, rotate, 16, seconds)
    finally:
        stop.set()
        side.join(60)
    return got | {"photos_per_s": sum(answered) / (time.monotonic() - start)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8, help="each wrk run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark drives the load with wrk: apt-get install wrk")
    rows: list[dict[str, Any]] = []
    png = item_png()
    blank = {"requests_per_s": "-", "failed": "-"}
    alone = in_process(RUNS)
    for what, got in alone.items():
        label = "bare engine, in-process" if what == "engine" else "Lookalike's query, in-process"
        rows.append({"what": label, "workers": 1, "concurrency": 1, **got, **blank})
    for n, got in enumerate(two_processes(RUNS), 1):
        rows.append({"what": f"bare engine, process {n} of 2", "workers": 2, "concurrency": 1})
        rows[-1] |= {**got, **blank}
    own = alone["lookalike"]["p50_ms"] / alone["engine"]["p50_ms"] - 1
    server = in_process_server(RUNS // 3)
    for what, label in SERVER_ROWS.items():
        rows.append({"what": label, "workers": 1, "concurrency": 1, **server[what], **blank})
    own_server_ms = server["own"]["p50_ms"]
    with tempfile.TemporaryDirectory() as tmp:
        rotate = Path(tmp) / "rotate.lua"
        rotate.write_text(ROTATE.format(fmt="test-%d", items=ITEMS))
        plain = Path(tmp) / "plain.lua"
        plain.write_text("")
        for workers in (1, args.workers):
            with api_running(args.port, extra=["--workers", str(workers)]) as url:
                for c in (1, 4, 16):
                    got = wrk(url, rotate, c, args.seconds)
                    rows.append({"what": "similar by item, HTTP", "workers": workers})
                    rows[-1] |= {"concurrency": c, **got}
                got = wrk(f"{url}/healthz", plain, 16, args.seconds)
                rows.append({"what": "/healthz (the framework's floor)", "workers": workers})
                rows[-1] |= {"concurrency": 16, **got}
                if workers == args.workers:
                    alone_rps = float(rows[-2]["requests_per_s"])
                    got = item_queries_beside_photos(url, rotate, args.seconds, alone_rps, png)
                    photos = got.pop("photos_per_s")
                    rows.append({"what": "similar by item, photos beside at 1/10", **got})
                    rows[-1] |= {"workers": workers, "concurrency": 16}
    rows = [{c: r.get(c, "-") for c in COLS} for r in rows]  # one column order
    extra = {"seconds": args.seconds, "lookalike_own_cost_vs_engine": own}
    extra |= {"lookalike_own_ms_on_the_server_code_path": own_server_ms}
    extra |= {"photos_answered_per_s": photos}
    print(write("serving", rows, extra).read_text())
    print(f"Lookalike's own cost per in-process query: {own:.1%} of the bare engine's p50")
    print(f"on the server code path: {own_server_ms:.3f} ms a query outside the client's call")


if __name__ == "__main__":
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
