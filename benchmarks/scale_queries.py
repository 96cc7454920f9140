"""The query half of the scaling benchmark: the same queries, one at a time, to Lookalike's
store, to the engine called directly, to hnswlib and to an exact torch scan.

The exact scan is torch's, not numpy's; and this module runs only inside ``benchmarks.scale``,
whose ``__main__`` re-runs itself without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (each size's child
process inherits that environment; the results record it under ``slow_blas_settings``)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import qdrant_edge as qe
import torch

from infra.store.base import Condition, IndexParams, Search
from infra.store.edge import EdgeStore, edge_filter

K = 10
Ask = Callable[[int], set[int]]  # query number -> the point numbers it found


def number(point_id: Any) -> int:
    return int(str(point_id).rsplit("-", 1)[1])


def hnswlib_index(vectors: np.ndarray, params: IndexParams) -> tuple[Any, float]:
    """hnswlib over the same vectors with the same ``m`` and ``ef_construct``, built on every
    core; its build seconds."""
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=vectors.shape[1])
    index.init_index(max_elements=len(vectors), ef_construction=params.ef_construct, M=params.m)
    index.set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    index.add_items(vectors, np.arange(len(vectors)))
    seconds = time.perf_counter() - start
    index.set_num_threads(1)  # queries one at a time, like the store's
    return index, seconds


class Queries:
    """p50/p99 and recall@10 per engine, filter and search beam."""

    def __init__(
        self,
        store: EdgeStore,
        collection: str,
        vectors: np.ndarray,
        labels: np.ndarray,
        queries: np.ndarray,
        other: Any | None,
    ) -> None:
        self.store, self.collection = store, collection
        self.x, self.labels, self.q = torch.from_numpy(vectors), labels, queries
        self.other = other

    def run(self, efs: Sequence[int | None], labels: Sequence[int | None]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        # A pass nobody times: the first queries into a freshly built collection read its
        # files from disk, which would land on whichever engine asks first.
        for label in labels:
            ask = self._engines(label, self.store.index.hnsw_ef or 0)["lookalike"]
            for i in range(len(self.q)):
                ask(i)
        for label in labels:
            truth, exact_ms = self._exact(label)
            shown = "none" if label is None else "one label"
            exact_p50 = statistics.median(exact_ms)
            for ef in efs:
                beam = ef or self.store.index.hnsw_ef or 0
                times = self._interleaved(self._engines(label, beam), truth)
                engine_p50 = statistics.median(times["qdrant-edge"][0])
                for name, (ms, recall) in times.items():
                    p50 = statistics.median(ms)
                    overhead = (p50 - engine_p50) / engine_p50 if name == "lookalike" else None
                    rows.append(_row(name, shown, beam, ms, recall, exact_p50 / p50, overhead))
            rows.append(_row("exact torch", shown, None, exact_ms, 1.0, 1.0, None))
        return rows

    def _exact(self, label: int | None) -> tuple[list[set[int]], list[float]]:
        mask = None if label is None else torch.from_numpy(self.labels != label)
        truth, ms = [], []
        for qi in torch.from_numpy(self.q):
            start = time.perf_counter()
            sims = self.x @ qi
            if mask is not None:
                sims = sims.masked_fill(mask, -2.0)
            top = torch.topk(sims, K).indices
            ms.append((time.perf_counter() - start) * 1e3)
            truth.append(set(top.tolist()))
        return truth, ms

    def _engines(self, label: int | None, ef: int) -> dict[str, Ask]:
        where = () if label is None else (Condition.equals("label", label),)
        search = Search(K, where, with_payload=False, hnsw_ef=ef)
        q = self.q

        def lookalike(i: int) -> set[int]:
            hits = self.store.query(self.collection, q[i : i + 1], search)[0]
            return {number(h.id) for h in hits}

        engines: dict[str, Ask] = {"lookalike": lookalike}
        # The engine itself: a request built from the vector and sent to the shard, no more.
        shard = self.store._shard(self.collection)
        flt = edge_filter(where)
        quantized = self.store.index.quantization
        oversampling = self.store.index.oversampling
        rescored = qe.QuantizationSearchParams(rescore=True, oversampling=oversampling)
        variants = {"qdrant-edge": rescored if quantized else None}
        if quantized:
            variants["qdrant-edge float"] = qe.QuantizationSearchParams(ignore=True)
        for name, quant in variants.items():
            params = qe.SearchParams(hnsw_ef=ef, quantization=quant)

            def raw(i: int, params: Any = params) -> set[int]:
                request = qe.QueryRequest(
                    limit=K, query=qe.Query.Nearest(q[i].tolist()), filter=flt, params=params
                )
                return {number(p.id) for p in shard.query(request)}

            engines[name] = raw
        if self.other is not None:
            engines["hnswlib"] = self._hnswlib(label, ef)
        return engines

    def _hnswlib(self, label: int | None, ef: int) -> Ask:
        index: Any = self.other
        labels, q = self.labels, self.q
        keep = None if label is None else (lambda j: bool(labels[j] == label))

        def ask(i: int) -> set[int]:
            index.set_ef(ef)
            found, _ = index.knn_query(q[i : i + 1], k=K, filter=keep)
            return set(found[0].tolist())

        return ask

    def _interleaved(
        self, engines: dict[str, Ask], truth: list[set[int]]
    ) -> dict[str, tuple[list[float], float]]:
        """Every engine asks all the queries in a pass of its own, twice, the order of the
        passes turned the second time, so the machine's noise falls on all alike. Not query by
        query: the engines share graphs, and the one asking second would find in the caches
        what the first had just walked."""
        ms: dict[str, list[float]] = {name: [] for name in engines}
        right = dict.fromkeys(engines, 0)
        names = list(engines)
        for turn in (0, 1):
            for name in names[turn:] + names[:turn]:
                for i, want in enumerate(truth):
                    start = time.perf_counter()
                    got = engines[name](i)
                    ms[name].append((time.perf_counter() - start) * 1e3)
                    right[name] += len(got & want) if turn == 0 else 0
        return {name: (ms[name], right[name] / (K * len(truth))) for name in engines}


def _row(
    engine: str,
    where: str,
    ef: int | None,
    ms: list[float],
    recall: float,
    speed_up: float,
    overhead: float | None,
) -> dict[str, Any]:
    return {
        "engine": engine,
        "filter": where,
        "ef": ef,
        "p50_ms": statistics.median(ms),
        "p99_ms": sorted(ms)[int(0.99 * len(ms))],
        "recall_at_10": recall,
        "speed_up_vs_exact": speed_up,
        "overhead_vs_engine": overhead,
    }
