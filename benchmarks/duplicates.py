"""Near-duplicates and diversity on the served index, side by side in one run.

1. `find_duplicates` (the code behind `lookalike duplicates`: batched self-queries through the
   index) against an exact self-join of the same vectors (blocked matrix products with torch,
   written only for this benchmark): pairs found, pair recall, seconds. The exact join also
   counts the pairs at looser thresholds, which the index route refuses.
2. MMR: over test queries against the train items, the mean pairwise cosine similarity of the
   10 hits and their precision (hits sharing the query's label), plain nearest neighbours
   beside MMR at lambda 0.8 and 0.5, and beside `dedup` at 0.999.

torch does the exact scan, so OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE play no part.
`python -m benchmarks.duplicates` after `lookalike run`.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
import torch

from benchmarks.common import full_speed_blas, write
from infra.settings import Settings
from infra.store import Condition, VectorStore, open_store
from search.duplicates import find_duplicates
from search.options import QueryOptions
from search.query import similar_to_vector

BLOCK = 2048


def exact_pairs(
    ids: list[str], vectors: np.ndarray, thresholds: list[float], collect: bool
) -> tuple[dict[float, set[tuple[str, str]]], dict[float, int], float]:
    """Pair counts at every threshold by blocked products, and the pairs themselves (as id
    pairs) when ``collect``."""
    x = torch.from_numpy(vectors)
    x = x / x.norm(dim=1, keepdim=True)
    keep: dict[float, set[tuple[str, str]]] = {t: set() for t in thresholds} if collect else {}
    counts = dict.fromkeys(thresholds, 0)
    start = time.perf_counter()
    for a in range(0, len(x), BLOCK):
        sims = x[a : a + BLOCK] @ x.T
        rows = torch.arange(a, a + len(sims))[:, None]
        upper = torch.arange(len(x))[None, :] > rows  # each pair once, no self-pairs
        for t in thresholds:
            hit = (sims >= t) & upper
            counts[t] += int(hit.sum())
            if t in keep:
                for i, j in hit.nonzero().tolist():
                    p, q = ids[a + i], ids[j]
                    keep[t].add((min(p, q), max(p, q)))
    return keep, counts, time.perf_counter() - start


def duplicates_rows(
    store: VectorStore, name: str, thresholds: list[float], efs: list[int]
) -> list[dict[str, Any]]:
    ids = store.find_ids(name, [], store.count(name) + 1)
    held = store.vectors(name, ids)
    vectors = np.stack([held[i] for i in ids]).astype(np.float32)
    rows: list[dict[str, Any]] = []
    loose = [0.95, 0.97, 0.98, 0.99]
    _, counts, seconds = exact_pairs(ids, vectors, loose, collect=False)
    for t in loose:
        rows.append(
            {
                "threshold": t,
                "method": "exact self-join (count only)",
                "pairs": counts[t],
                "seconds": seconds / len(loose),
                "pair_recall": 1.0,
                "speed_up": "-",
            }
        )
    for t in thresholds:
        truth, _, exact_s = exact_pairs(ids, vectors, [t], collect=True)
        rows.append(
            {
                "threshold": t,
                "method": "exact self-join, torch",
                "pairs": len(truth[t]),
                "seconds": exact_s,
                "pair_recall": 1.0,
                "speed_up": 1.0,
            }
        )
        for ef in efs:
            start = time.perf_counter()
            found = find_duplicates(store, name, t, hnsw_ef=ef)
            took = time.perf_counter() - start
            recall = len(set(found.pairs) & truth[t]) / max(1, len(truth[t]))
            rows.append(
                {
                    "threshold": t,
                    "method": f"lookalike duplicates, hnsw_ef {ef}",
                    "pairs": len(found.pairs),
                    "seconds": took,
                    "pair_recall": recall,
                    "speed_up": exact_s / took,
                }
            )
    return rows


def diversity_rows(store: VectorStore, name: str, queries: int) -> list[dict[str, Any]]:
    test = store.find_ids(name, [Condition.equals("split", "test")], queries)
    held, payloads = store.vectors(name, test), store.payloads(name, test)
    train = (Condition.equals("split", "train"),)
    variants = {
        "nearest neighbours": QueryOptions(k=10, where=train, dedup=None),
        "MMR, lambda 0.8": QueryOptions(k=10, where=train, diversity="mmr", mmr_lambda=0.8),
        "MMR, lambda 0.5": QueryOptions(k=10, where=train, diversity="mmr", mmr_lambda=0.5),
        "dedup 0.999": QueryOptions(k=10, where=train, dedup=0.999),
    }
    rows = []
    for what, opts in variants.items():
        spread, precision, took = [], [], 0.0
        for pid in test:
            start = time.perf_counter()
            hits = similar_to_vector(store, name, held[pid], opts)
            took += time.perf_counter() - start
            vecs = store.vectors(name, [h.id for h in hits])
            got = np.stack([vecs[h.id] for h in hits])
            got /= np.linalg.norm(got, axis=1, keepdims=True)
            sims = got @ got.T
            spread.append(float(sims[np.triu_indices(len(hits), 1)].mean()))
            label = payloads[pid]["label"]
            precision.append(np.mean([h.payload["label"] == label for h in hits]))
        rows.append(
            {
                "query": what,
                "mean_pairwise_similarity": float(np.mean(spread)),
                "precision_at_10": float(np.mean(precision)),
                "ms_per_query": took / len(test) * 1e3,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.999, 0.9995])
    parser.add_argument("--queries", type=int, default=1000, help="diversity queries")
    parser.add_argument("--ef", type=int, nargs="+", default=[128, 32, 16, 8], help="beams")
    args = parser.parse_args()
    settings = Settings()
    with open_store(settings.store) as store:
        name = store.resolve(settings.served_alias)
        found = duplicates_rows(store, name, args.thresholds, args.ef)
        diverse = diversity_rows(store, name, args.queries)
    print(write("duplicates", found, {"collection": name}).read_text())
    print(write("diversity", diverse, {"collection": name, "queries": args.queries}).read_text())


if __name__ == "__main__":
    # The exact scan (torch) is the baseline and numpy makes the vectors: neither runs under
    # OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE. Re-run without them here, not at import: the tests
    # import this module and must keep their environment.
    full_speed_blas("benchmarks.duplicates")
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
