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
from dataclasses import dataclass
from typing import Any

import numpy as np
import qdrant_edge as qe
import torch

from infra.store.base import Condition, IndexParams, Search
from infra.store.edge import EdgeStore
from infra.store.edge_requests import edge_filter
from search.metadata import CollectionMeta
from search.options import QueryOptions
from search.query import ByVector, ask

K = 10
TIMED = 40  # queries the exact scan is timed on (it is the baseline, not under test)
Ask = Callable[[int], set[int]]  # query number -> the point numbers it found
ENGINES = (
    "lookalike",
    "lookalike, checked",
    "qdrant-edge",
    "qdrant-edge float",
    "hnswlib",
    "exact torch",
)


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


@dataclass(frozen=True)
class Filter:
    """One filter the queries ask with: its conditions for query ``i`` and the points they
    let through (None: no filter)."""

    name: str
    where: Callable[[int], tuple[Condition, ...]]
    mask: Callable[[int], np.ndarray | None]


def filters(
    labels: np.ndarray, seasons: np.ndarray, prices: np.ndarray, own: np.ndarray
) -> list[Filter]:
    """No filter; one label of ten (10%: the queries mostly ask for one their own cluster
    lacks); the query's own label (10%, "more like this in its category"); one label and one
    season (1%); a price band (10%, a float field)."""
    label, season = labels == 3, (labels == 3) & (seasons == 5)
    band = (prices >= 40.0) & (prices < 50.0)
    by_price = (Condition("price", gte=40.0, lt=50.0),)
    by_season = (Condition.equals("label", 3), Condition.equals("season", 5))
    return [
        Filter("none", lambda i: (), lambda i: None),
        Filter("one label", lambda i: (Condition.equals("label", 3),), lambda i: label),
        Filter(
            "own label",
            lambda i: (Condition.equals("label", int(own[i])),),
            lambda i: labels == own[i],
        ),
        Filter("label and season", lambda i: by_season, lambda i: season),
        Filter("price band", lambda i: by_price, lambda i: band),
    ]


class Queries:
    """p50/p99 and recall@10 per engine, filter and search beam."""

    def __init__(
        self,
        store: EdgeStore,
        collection: str,
        vectors: np.ndarray,
        queries: np.ndarray,
        other: Any | None,
        engines: Sequence[str] = ENGINES,
        meta: CollectionMeta | None = None,
    ) -> None:
        self.store, self.collection = store, collection
        self.x, self.q = torch.from_numpy(vectors), queries
        self.other, self.names = other, set(engines)
        self.meta = meta  # the collection's record, with its filter check's, if one ran
        self._sims: torch.Tensor | None = None

    def run(self, efs: Sequence[int | None], asked: Sequence[Filter]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        # A pass nobody times: the first queries into a freshly built collection read its
        # files from disk, which would land on whichever engine asks first.
        for f in asked:
            ask = next(iter(self._engines(f, self.store.index.hnsw_ef or 0).values()))
            for i in range(len(self.q)):
                ask(i)
        for f in asked:
            truth, exact_ms = self._exact(f)
            exact_p50 = statistics.median(exact_ms)
            for ef in efs:
                beam = ef or self.store.index.hnsw_ef or 0
                times = self._interleaved(self._engines(f, beam), truth)
                engine_p50 = statistics.median(times["qdrant-edge"][0])
                for name, (ms, recall) in times.items():
                    p50 = statistics.median(ms)
                    overhead = (p50 - engine_p50) / engine_p50 if name == "lookalike" else None
                    rows.append(_row(name, f.name, beam, ms, recall, exact_p50 / p50, overhead))
            if "exact torch" in self.names:
                rows.append(_row("exact torch", f.name, None, exact_ms, 1.0, 1.0, None))
        return rows

    def _exact(self, f: Filter) -> tuple[list[set[int]], list[float]]:
        """The true top-10 of every query (from one product of all queries, made once), and the
        time of the exact scan as one query would run it, on the first ``TIMED`` queries."""
        if self._sims is None:
            self._sims = self.x @ torch.from_numpy(self.q).T
        truth, ms = [], []
        for i in range(len(self.q)):
            mask = f.mask(i)
            sims = self._sims[:, i]
            if i < TIMED:
                start = time.perf_counter()
                sims = self.x @ torch.from_numpy(self.q[i])
            if mask is not None:
                sims = sims.masked_fill(torch.from_numpy(~mask), -2.0)
            top = torch.topk(sims, K).indices
            if i < TIMED:
                ms.append((time.perf_counter() - start) * 1e3)
            truth.append(set(top.tolist()))
        return truth, ms

    def _engines(self, f: Filter, ef: int) -> dict[str, Ask]:
        q = self.q

        def lookalike(i: int) -> set[int]:
            search = Search(K, f.where(i), with_payload=False, hnsw_ef=ef)
            hits = self.store.query(self.collection, q[i : i + 1], search)[0]
            return {number(h.id) for h in hits}

        engines: dict[str, Ask] = {"lookalike": lookalike}
        if self.meta is not None and ef == self.store.index.hnsw_ef:
            engines["lookalike, checked"] = self._checked(f, self.meta)
        # The engine itself: a request built from the vector and sent to the shard, no more.
        shard = self.store._shard(self.collection)
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
                    limit=K,
                    query=qe.Query.Nearest(q[i].tolist()),
                    filter=edge_filter(f.where(i)),
                    params=params,
                )
                return {number(p.id) for p in shard.query(request)}

            engines[name] = raw
        if self.other is not None:
            engines["hnswlib"] = self._hnswlib(f, ef)
        # qdrant-edge first: the others' overhead is measured against it.
        return {
            n: a
            for n, a in sorted(engines.items(), key=lambda e: e[0] != "qdrant-edge")
            if n in self.names or n == "qdrant-edge"
        }

    def _checked(self, f: Filter, meta: CollectionMeta) -> Ask:
        """Lookalike's one query path (search.query.ask) at the store's beam: a value the filter
        check found weak walks with the beam it recorded, or is scanned, unless the query's
        nearest item has it."""
        q = self.q

        def asked(i: int) -> set[int]:
            opts = QueryOptions(k=K, where=f.where(i))
            hits = ask(self.store, self.collection, ByVector(q[i]), opts, meta)
            return {number(h.id) for h in hits}

        return asked

    def _hnswlib(self, f: Filter, ef: int) -> Ask:
        index: Any = self.other
        q = self.q

        def ask(i: int) -> set[int]:
            mask = f.mask(i)
            keep = None if mask is None else (lambda j: bool(mask[j]))
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
