"""The server store's reads: points, searches and recommendations asked over qdrant-client
(``ServerStore`` holds the client and retries its calls)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from infra.store.base import (
    PAGE,
    Condition,
    Hit,
    IndexParams,
    PointBatch,
    Scalar,
    Search,
    StoreError,
)
from infra.store.server_requests import hits, query_of, request, search_params, server_filter
from infra.store.shared import check_dimension, example_query, stored_in_order, stored_points

T = TypeVar("T")


class ServerReads:
    """What ``ServerStore`` answers from a collection on the server."""

    _client: QdrantClient

    @property
    def _index(self) -> IndexParams:
        raise NotImplementedError

    def _call(self, fn: Callable[[], T]) -> T:
        raise NotImplementedError

    def dimension(self, name: str) -> int:
        raise NotImplementedError

    def indexed_fields(self, name: str) -> frozenset[str]:
        raise NotImplementedError

    def count(self, name: str, where: Sequence[Condition] = ()) -> int:
        self.dimension(name)
        res = self._call(
            lambda: self._client.count(name, count_filter=server_filter(where), exact=True)
        )
        return int(res.count)

    def vectors(self, name: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        self.dimension(name)
        records = self._call(lambda: self._client.retrieve(name, list(ids), with_vectors=True))
        return {str(r.id): np.asarray(r.vector, dtype=np.float32) for r in records}

    def payloads(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        self.dimension(name)
        records = self._call(lambda: self._client.retrieve(name, list(ids), with_payload=True))
        return {str(r.id): dict(r.payload or {}) for r in records}

    def points(
        self, name: str, page: int = PAGE, ids: Sequence[str] | None = None
    ) -> Iterator[PointBatch]:
        self.dimension(name)
        if ids is not None:
            for start in range(0, len(ids), page):
                yield stored_points(self._records(name, ids[start : start + page]))
            return
        offset: Any = None

        def scroll() -> tuple[list[Any], Any]:
            return self._client.scroll(
                name, limit=page, offset=offset, with_payload=True, with_vectors=True
            )

        while True:
            records, offset = self._call(scroll)
            yield stored_points(records)
            if offset is None:
                return

    def _records(self, name: str, ids: Sequence[str]) -> list[Any]:
        asked = list(ids)
        return self._call(
            lambda: self._client.retrieve(name, asked, with_payload=True, with_vectors=True)
        )

    def _request(self, name: str, query: Any, search: Search) -> qm.QueryRequest:
        params = search_params(self._index, search, self.indexed_fields(name))
        return request(query, search, params)

    def _batch(self, name: str, requests: list[qm.QueryRequest]) -> list[list[Hit]]:
        responses = self._call(lambda: self._client.query_batch_points(name, requests=requests))
        return [hits(r.points) for r in responses]

    def _by_points(self, name: str, ids: Sequence[str], run: Callable[[], T]) -> T:
        """Run a query by stored points; where the server refuses it, say which point is not
        stored (a server answers 404, the in-process mode raises ValueError)."""
        try:
            return run()
        except (StoreError, ValueError):
            stored_in_order(name, self.vectors(name, ids), ids)
            raise

    def query(self, name: str, vectors: np.ndarray, search: Search) -> list[list[Hit]]:
        check_dimension(name, self.dimension(name), vectors)
        return self._batch(
            name, [self._request(name, query_of(v.tolist(), search), search) for v in vectors]
        )

    def query_points(
        self, name: str, ids: Sequence[str], search: Search, vectors: np.ndarray | None = None
    ) -> list[list[Hit]]:
        if vectors is not None:  # read already: sent as they are, each point left out
            check_dimension(name, self.dimension(name), vectors)
            requests = [
                self._request(
                    name,
                    query_of(v, search),
                    dataclasses.replace(search, exclude_ids=(*search.exclude_ids, i)),
                )
                for i, v in zip(ids, vectors.tolist(), strict=True)
            ]
            return self._batch(name, requests)
        # One call: Qdrant reads each point's vector itself and leaves the point out.
        requests = [self._request(name, query_of(i, search), search) for i in ids]
        return self._by_points(name, ids, lambda: self._batch(name, requests))

    def recommend_best_score(
        self, name: str, positives: np.ndarray, negatives: np.ndarray, search: Search
    ) -> list[Hit]:
        dim = self.dimension(name)
        check_dimension(name, dim, positives)
        return self._recommend(
            name,
            [v.tolist() for v in positives],
            [v.tolist() for v in negatives.reshape(-1, dim)],
            search,
            qm.RecommendStrategy.BEST_SCORE,
        )

    def recommend_points(
        self,
        name: str,
        positive: Sequence[str],
        negative: Sequence[str],
        search: Search,
        best_score: bool = False,
    ) -> list[Hit]:
        if search.mmr is not None and not best_score:
            # Qdrant diversifies nearest queries only: the formula's vector, searched with MMR
            examples = [*positive, *negative]
            vectors = stored_in_order(name, self.vectors(name, examples), examples)
            query = example_query(vectors[: len(positive)], vectors[len(positive) :])
            return self.query(name, query, search)[0]
        strategy = (
            qm.RecommendStrategy.BEST_SCORE if best_score else qm.RecommendStrategy.AVERAGE_VECTOR
        )
        return self._by_points(
            name,
            [*positive, *negative],
            lambda: self._recommend(name, list(positive), list(negative), search, strategy),
        )

    def _recommend(
        self,
        name: str,
        positive: list[Any],
        negative: list[Any],
        search: Search,
        strategy: qm.RecommendStrategy,
    ) -> list[Hit]:
        query = qm.RecommendQuery(
            recommend=qm.RecommendInput(positive=positive, negative=negative, strategy=strategy)
        )
        return self._batch(name, [self._request(name, query, search)])[0]

    def find_ids(self, name: str, where: Sequence[Condition], limit: int) -> list[str]:
        self.dimension(name)
        records, _ = self._call(
            lambda: self._client.scroll(name, scroll_filter=server_filter(where), limit=limit)
        )
        return [str(r.id) for r in records]

    def value_counts(self, name: str, key: str, limit: int) -> list[tuple[Scalar, int]]:
        self.dimension(name)
        found = self._call(lambda: self._client.facet(name, key, limit=limit, exact=True))
        return [(h.value, int(h.count)) for h in found.hits]
