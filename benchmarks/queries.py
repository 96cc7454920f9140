"""Query speed and recall of the served index against an exact scan, side by side in one run.

Run after `lookalike run`: `python -m benchmarks.queries [--queries 1000]`. It reads every
vector of the served collection, then times top-10 queries (unfiltered, and filtered by label)
on the store and on an exact numpy scan of the same vectors, one query at a time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from benchmarks.common import write
from infra.settings import Settings
from infra.store import Condition, VectorStore, open_store, point_id

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


def timed(fn: Callable[[int], list[str]], n: int) -> tuple[np.ndarray, list[list[str]]]:
    fn(0)  # warm-up
    times, results = [], []
    for q in range(n):
        t = time.perf_counter()
        results.append(fn(q))
        times.append(time.perf_counter() - t)
    return np.asarray(times) * 1000, results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    settings = Settings(progress=False)
    store = open_store(settings)
    name = store.resolve(settings.served_alias)
    ids, vectors, labels = load_all(store, name, settings.dataset)
    rng = np.random.default_rng(0)
    queries = rng.choice(len(ids), size=args.queries, replace=False)
    qlabels = labels[queries]
    by_label = {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}

    def store_query(filtered: bool) -> Callable[[int], list[str]]:
        def run(q: int) -> list[str]:
            where = [Condition.equals("label", int(qlabels[q]))] if filtered else []
            hits = store.query(name, vectors[queries[q]][None], K, where=where)[0]
            return [h.id for h in hits]

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
    for filtered in (False, True):
        kind = "filtered by label" if filtered else "unfiltered"
        t_exact, r_exact = timed(exact(filtered), len(queries))
        t_store, r_store = timed(store_query(filtered), len(queries))
        recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(r_store, r_exact, strict=True)])
        for engine, t in ((f"{store.backend} (Qdrant)", t_store), ("exact numpy scan", t_exact)):
            rows.append(
                {
                    "query": kind,
                    "engine": engine,
                    "p50_ms": float(np.percentile(t, 50)),
                    "p99_ms": float(np.percentile(t, 99)),
                    "qps": float(1000 / t.mean()),
                    "recall_at_10_vs_exact": float(recall) if "Qdrant" in engine else 1.0,
                    "speedup_vs_exact_p50": float(
                        np.percentile(t_exact, 50) / np.percentile(t, 50)
                    ),
                }
            )
    store.close()
    md = write("queries", rows, {"collection": name, "points": len(ids), "queries": len(queries)})
    print(md.read_text())


if __name__ == "__main__":
    main()
