"""Server backend: qdrant-client against a Qdrant URL, or its in-process ``:memory:`` mode."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from infra.store.base import (
    PAGE,
    CollectionSpec,
    Condition,
    Hit,
    IndexParams,
    PointBatch,
    Scalar,
    Search,
    StoreBase,
    StoreError,
    StoreUnavailableError,
    check_dimension,
    check_dimension_of,
    example_query,
    stored_in_order,
    stored_points,
    unknown_collection,
)
from infra.store.server_requests import (
    SCHEMAS,
    collection_settings,
    hits,
    query_of,
    request,
    search_params,
    server_filter,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ServerConfig:
    """How to reach the server and how its collections are built."""

    url: str
    api_key: str | None = None
    timeout: float = 30.0
    prefer_grpc: bool = False
    retries: int = 3
    backoff: float = 0.5
    index: IndexParams = field(default_factory=IndexParams)
    shard_number: int | None = None
    replication_factor: int | None = None


class ServerStore(StoreBase):
    """The same contract as the embedded store, over qdrant-client."""

    backend = "server"
    writes_while_served = True  # the server takes concurrent readers and writers

    def __init__(self, config: ServerConfig, keep_open: bool = False) -> None:
        self.config = config
        self.url = config.url
        self._keep_open = keep_open
        if config.url == ":memory:":
            self._client = QdrantClient(location=":memory:")
        else:
            self._client = QdrantClient(
                url=config.url,
                api_key=config.api_key,
                timeout=int(config.timeout),
                prefer_grpc=config.prefer_grpc,
            )
        self._dims: dict[str, int] = {}
        # By the name asked: the API asks by collection; an alias that moves to a collection
        # of another spec is seen by the next store opened.
        self._indexed: dict[str, frozenset[str]] = {}

    @property
    def client(self) -> QdrantClient:
        """The underlying qdrant-client, for callers that speak Qdrant directly."""
        return self._client

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one request; retry a bounded number of times with backoff while unreachable."""
        for attempt in range(self.config.retries + 1):
            try:
                return fn()
            except (ResponseHandlingException, ConnectionError, TimeoutError) as exc:
                if attempt == self.config.retries:
                    raise StoreUnavailableError(
                        f"Qdrant at {self.url} is unreachable after {attempt + 1} tries "
                        f"({type(exc).__name__}): start it (`docker compose up -d qdrant`), check "
                        "LOOKALIKE_QDRANT_URL and the API key, or unset LOOKALIKE_QDRANT_URL to "
                        "use the embedded store."
                    ) from exc
                delay = self.config.backoff * 2**attempt
                log.warning("Qdrant at %s unreachable, retrying in %.1fs", self.url, delay)
                time.sleep(delay)
            except UnexpectedResponse as exc:
                raise StoreError(f"Qdrant at {self.url} refused the request: {exc}") from exc
        raise AssertionError("unreachable")

    # -- collections and aliases ---------------------------------------------------------------

    def list_collections(self) -> list[str]:
        return sorted(c.name for c in self._call(self._client.get_collections).collections)

    def aliases(self) -> dict[str, str]:
        res = self._call(self._client.get_aliases)
        return {a.alias_name: a.collection_name for a in res.aliases}

    def resolve(self, name: str) -> str:
        # Aliases first: qdrant-client reports an alias as an existing collection too.
        target = self.aliases().get(name)
        if target is not None:
            return target
        if self._call(lambda: self._client.collection_exists(name)):
            return name
        raise unknown_collection(name, self.url)

    def set_alias(self, alias: str, collection: str) -> None:
        if not self._call(lambda: self._client.collection_exists(collection)):
            raise unknown_collection(collection, self.url)
        ops: list[qm.AliasOperations] = [
            qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias)),
            qm.CreateAliasOperation(
                create_alias=qm.CreateAlias(collection_name=collection, alias_name=alias)
            ),
        ]
        # One request: Qdrant applies the delete and the create atomically.
        self._call(lambda: self._client.update_collection_aliases(change_aliases_operations=ops))

    def delete_alias(self, alias: str) -> None:
        op = qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias))
        self._call(lambda: self._client.update_collection_aliases(change_aliases_operations=[op]))

    def metadata(self, name: str) -> dict[str, Any]:
        info = self._call(lambda: self._client.get_collection(self.resolve(name)))
        return dict(info.config.metadata or {})

    def set_metadata(self, name: str, values: dict[str, Any]) -> None:
        collection = self.resolve(name)
        self._call(lambda: self._client.update_collection(collection, metadata=values))

    def dimension(self, name: str) -> int:
        if name not in self._dims:
            info = self._call(lambda: self._client.get_collection(self.resolve(name)))
            params = info.config.params.vectors
            if not isinstance(params, qm.VectorParams):
                raise StoreError(f"collection {name!r} uses named vectors; Lookalike expects one.")
            self._dims[name] = int(params.size)
        return self._dims[name]

    def has_scan_copy(self, name: str) -> bool:
        return False  # a scan is answered exactly (Search.scan)

    def indexed_fields(self, name: str) -> frozenset[str]:
        if name not in self._indexed:
            info = self._call(lambda: self._client.get_collection(self.resolve(name)))
            self._indexed[name] = frozenset(info.payload_schema or {})
        return self._indexed[name]

    def ensure_collection(self, spec: CollectionSpec) -> None:
        if self.has_collection(spec.name):
            check_dimension_of(spec, self.dimension(spec.name))
            return
        self._create(spec)
        for key, kind in spec.indexes():
            self._index_field(spec.name, key, SCHEMAS[kind])

    def _create(self, spec: CollectionSpec) -> None:
        c = self.config
        settings = collection_settings(c.index, spec.dim)
        self._call(
            lambda: self._client.create_collection(
                spec.name,
                **settings,
                shard_number=c.shard_number,
                replication_factor=c.replication_factor,
                metadata=spec.metadata or None,
            )
        )

    def _index_field(self, name: str, key: str, schema: qm.PayloadSchemaType) -> None:
        self._call(lambda: self._client.create_payload_index(name, key, schema))

    def delete_collection(self, name: str) -> None:
        if name in self.aliases().values():
            raise StoreError(f"collection {name!r} is served by an alias; promote another first.")
        self._dims.pop(name, None)
        self._call(lambda: self._client.delete_collection(name))

    def copy_collection(self, source: str, target: str) -> None:
        # A server writes served collections in place, so nothing asks it for revisions.
        raise StoreError("a Qdrant server writes collections in place; nothing is copied.")

    def close_collection(self, name: str) -> None:
        """Nothing to let go of: the server holds collections, not this client."""

    # -- points ---------------------------------------------------------------------------------

    def upsert(self, name: str, batch: PointBatch) -> None:
        check_dimension(name, self.dimension(name), batch.vectors)
        points = [
            qm.PointStruct(id=pid, vector=vec.tolist(), payload=payload)
            for pid, vec, payload in zip(batch.ids, batch.vectors, batch.payloads, strict=True)
        ]
        self._call(lambda: self._client.upsert(name, points=points, wait=True))

    def delete(self, name: str, ids: Sequence[str]) -> None:
        selector = qm.PointIdsList(points=list(ids))
        self._call(lambda: self._client.delete(name, points_selector=selector, wait=True))

    def finalize(self, name: str) -> None:
        """The server indexes in the background; ``wait=True`` writes are already durable."""
        self.dimension(name)

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
        params = search_params(self.config.index, search, self.indexed_fields(name))
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

    def close(self) -> None:
        if not self._keep_open:
            self._client.close()
