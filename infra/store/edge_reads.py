"""The embedded store's reads: points, searches and recommendations asked of a collection's
shard (``EdgeStore`` opens it and holds its lock)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import qdrant_edge as qe

from infra.store.base import (
    PAGE,
    SCAN_VECTOR,
    Condition,
    Hit,
    IndexParams,
    NotFoundError,
    PointBatch,
    Scalar,
    Search,
)
from infra.store.edge_requests import (
    MAIN,
    edge_filter,
    excluding,
    hit,
    query_of,
    request,
    search_params,
)
from infra.store.shared import check_dimension, example_query, stored_in_order, stored_points


class EdgeReads:
    """What ``EdgeStore`` answers from an open shard."""

    index: IndexParams

    def _shard(self, name: str) -> qe.EdgeShard:
        raise NotImplementedError

    def dimension(self, name: str) -> int:
        raise NotImplementedError

    def indexed_fields(self, name: str) -> frozenset[str]:
        raise NotImplementedError

    def has_scan_copy(self, name: str) -> bool:
        raise NotImplementedError

    def count(self, name: str, where: Sequence[Condition] = ()) -> int:
        return int(self._shard(name).count(qe.CountRequest(filter=edge_filter(where), exact=True)))

    def vectors(self, name: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        records = self._shard(name).retrieve(list(ids), with_payload=False, with_vector=MAIN)
        return {str(r.id): np.asarray(r.vector, dtype=np.float32) for r in records}

    def payloads(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        records = self._shard(name).retrieve(list(ids), with_payload=True, with_vector=False)
        return {str(r.id): dict(r.payload or {}) for r in records}

    def points(
        self, name: str, page: int = PAGE, ids: Sequence[str] | None = None
    ) -> Iterator[PointBatch]:
        shard, offset = self._shard(name), None
        if ids is not None:
            for start in range(0, len(ids), page):
                chunk: list[Any] = list(ids[start : start + page])
                yield stored_points(shard.retrieve(chunk, with_payload=True, with_vector=MAIN))
            return
        while True:
            asked = qe.ScrollRequest(limit=page, offset=offset, with_payload=True, with_vector=MAIN)
            records, offset = shard.scroll(asked)
            yield stored_points(records)
            if offset is None:
                return

    def _run(self, name: str, requests: list[qe.QueryRequest], search: Search) -> list[list[Hit]]:
        results = self._shard(name).query_batch(qe.QueryBatchRequest(requests))
        return [[hit(p, search.with_ids) for p in r] for r in results]

    def _search_params(self, name: str, search: Search) -> tuple[qe.SearchParams, str | None]:
        """The search's parameters, and the vector it asks: the scan copy for a scan where
        the collection has one (None: the main vector)."""
        scanned = search.scan and self.has_scan_copy(name)
        params = search_params(self.index, search, self.indexed_fields(name), scanned)
        return params, SCAN_VECTOR if scanned else None

    def query(self, name: str, vectors: np.ndarray, search: Search) -> list[list[Hit]]:
        check_dimension(name, self.dimension(name), vectors)
        flt = edge_filter(search.where, search.exclude_ids)
        params, using = self._search_params(name, search)
        requests = [request(search, query_of(v, search, using), flt, params) for v in vectors]
        return self._run(name, requests, search)

    def recommend_best_score(
        self, name: str, positives: np.ndarray, negatives: np.ndarray, search: Search
    ) -> list[Hit]:
        dim = self.dimension(name)
        check_dimension(name, dim, positives)
        rec = qe.RecommendQuery(
            [v.tolist() for v in positives], [v.tolist() for v in negatives.reshape(-1, dim)]
        )
        flt = edge_filter(search.where, search.exclude_ids)
        params, using = self._search_params(name, search)
        asked = request(search, qe.Query.RecommendBestScore(rec, using=using), flt, params)
        return self._run(name, [asked], search)[0]

    def query_points(
        self, name: str, ids: Sequence[str], search: Search, vectors: np.ndarray | None = None
    ) -> list[list[Hit]]:
        # The engine queries by vector only: two in-process calls, the vectors and the search,
        # the vectors passed on as the engine's own lists.
        found: dict[str, Any]
        if vectors is not None:
            check_dimension(name, self.dimension(name), vectors)
            found = dict(zip(ids, vectors.tolist(), strict=True))
        else:
            records = self._shard(name).retrieve(list(ids), with_payload=False, with_vector=MAIN)
            found = {str(r.id): r.vector for r in records}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(f"no point {missing[0]!r} in {name!r}.")
        params, using = self._search_params(name, search)
        requests = [
            request(search, query_of(found[i], search, using), excluding(search, i), params)
            for i in ids
        ]
        return self._run(name, requests, search)

    def recommend_points(
        self,
        name: str,
        positive: Sequence[str],
        negative: Sequence[str],
        search: Search,
        best_score: bool = False,
    ) -> list[Hit]:
        examples = [*positive, *negative]
        vectors = stored_in_order(name, self.vectors(name, examples), examples)
        pos, neg = vectors[: len(positive)], vectors[len(positive) :]
        if best_score:
            return self.recommend_best_score(name, pos, neg, search)
        return self.query(name, example_query(pos, neg), search)[0]

    def find_ids(self, name: str, where: Sequence[Condition], limit: int) -> list[str]:
        records, _ = self._shard(name).scroll(
            qe.ScrollRequest(limit=limit, filter=edge_filter(where), with_payload=False)
        )
        return [str(r.id) for r in records]

    def value_counts(self, name: str, key: str, limit: int) -> list[tuple[Scalar, int]]:
        found = self._shard(name).facet(qe.FacetRequest(key=key, limit=limit, exact=True))
        return [(h.value, int(h.count)) for h in found.hits]
