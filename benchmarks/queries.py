"""Query speed and recall of the served index against an exact scan, side by side in one run.

Run after `lookalike run`: `python -m benchmarks.queries [--queries 1000]`. It reads every
vector of the served collection, then times top-10 queries (unfiltered, and filtered by label)
on the store and on an exact numpy scan of the same vectors, one query at a time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from benchmarks.common import full_speed_blas

# The exact numpy scan is the baseline: re-run without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
# (they slow numpy here) before numpy loads.
full_speed_blas("benchmarks.queries")

import numpy as np  # noqa: E402

from benchmarks.common import write  # noqa: E402
from infra.settings import Settings  # noqa: E402
from infra.store import Condition, Search, VectorStore, open_store, point_id  # noqa: E402

K = 10


def load_all(
    store: VectorStore, name: str, dataset: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Ids, vectors and labels of every item, in a fixed order."""
    ids = [point_id(dataset, "train", i) for i in range(60_000)]
    ids += [point_id(dataset, "test", i) for i in range(10_000)]
    vecs, labels, keep = [], [], []
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found = store.vectors(name, chunk)
        payloads = store.payloads(name, chunk)
        for pid in chunk:
            if pid in found:
                keep.append(pid)
                vecs.append(found[pid])
                labels.append(int(payloads[pid]["label"]))
    return keep, np.stack(vecs), np.asarray(labels)


def interleaved(
    fns: dict[str, Callable[[int], list[str]]], n: int, block: int = 50
) -> dict[str, tuple[np.ndarray, list[list[str]]]]:
    """Time the engines in turns of ``block`` queries each: a slow moment of this shared machine
    hits all of them alike, so their ratios hold when the absolutes drift, while each engine
    still runs a whole block with its own data warm in cache, as a serving process would."""
    for fn in fns.values():
        fn(0)  # warm-up
    times: dict[str, list[float]] = {k: [] for k in fns}
    results: dict[str, list[list[str]]] = {k: [] for k in fns}
    for start in range(0, n, block):
        for name, fn in fns.items():
            for q in range(start, min(start + block, n)):
                t = time.perf_counter()
                results[name].append(fn(q))
                times[name].append(time.perf_counter() - t)
    return {k: (np.asarray(times[k]) * 1000, results[k]) for k in fns}


def row(kind: str, engine: str, t: np.ndarray, found: list[list[str]], exact: tuple) -> dict:
    t_exact, r_exact = exact
    recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(found, r_exact, strict=True)])
    return {
        "query": kind,
        "engine": engine,
        "p50_ms": float(np.percentile(t, 50)),
        "p99_ms": float(np.percentile(t, 99)),
        "qps": float(1000 / t.mean()),
        "recall_at_10_vs_exact": float(recall),
        "speedup_vs_exact_p50": float(np.percentile(t_exact, 50) / np.percentile(t, 50)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--ef", type=int, nargs="*", default=[], help="also time these hnsw_ef values (ids only)"
    )
    args = parser.parse_args()
    settings = Settings(progress=False)
    store = open_store(settings.store)
    name = store.resolve(settings.served_alias)
    ids, vectors, labels = load_all(store, name, settings.dataset)
    store.close()
    rng = np.random.default_rng(0)
    queries = rng.choice(len(ids), size=args.queries, replace=False)
    qlabels = labels[queries]
    by_label = {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}

    def store_query(
        store: VectorStore, filtered: bool, payload: bool
    ) -> Callable[[int], list[str]]:
        def run(q: int) -> list[str]:
            where = [Condition.equals("label", int(qlabels[q]))] if filtered else []
            search = Search(K, where, with_payload=payload)
            hits = store.query(name, vectors[queries[q]][None], search)
            return [h.id for h in hits[0]]

        return run

    def exact(filtered: bool) -> Callable[[int], list[str]]:
        def run(q: int) -> list[str]:
            rows = by_label[int(qlabels[q])] if filtered else slice(None)
            sub = vectors[rows]
            scores = sub @ vectors[queries[q]]
            top = np.argpartition(-scores, K)[:K]
            top = top[np.argsort(-scores[top])]
            idx = np.asarray(rows)[top] if filtered else top
            return [ids[i] for i in idx]

        return run

    rows = []
    ef_default = settings.store.qdrant_hnsw_ef
    for ef in [ef_default, *args.ef]:
        store = open_store(settings.with_(qdrant_hnsw_ef=ef).store)
        for filtered in (False, True):
            kind = "filtered by label" if filtered else "unfiltered"
            # Ids only is like for like with the scan, which returns ids; with the payload is
            # what a consumer usually asks for.
            engines = {
                "exact numpy scan (ids)": exact(filtered),
                f"{store.backend} Qdrant (ids), hnsw_ef {ef}": store_query(store, filtered, False),
            }
            if ef == ef_default:
                engines[f"{store.backend} Qdrant (+payload), hnsw_ef {ef}"] = store_query(
                    store, filtered, True
                )
            timed = interleaved(engines, len(queries))
            exact_run = timed["exact numpy scan (ids)"]
            for engine, (t, found) in timed.items():
                if engine.startswith("exact") and ef != ef_default:
                    continue
                rows.append(row(kind, engine, t, found, exact_run))
        store.close()
    md = write("queries", rows, {"collection": name, "points": len(ids), "queries": len(queries)})
    print(md.read_text())


if __name__ == "__main__":
    main()
