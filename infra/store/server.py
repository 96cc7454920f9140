"""Server backend: qdrant-client against a Qdrant URL, or its in-process ``:memory:`` mode."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from infra.store.base import (
    CollectionSpec,
    Condition,
    Hit,
    PointBatch,
    StoreError,
    StoreUnavailableError,
    check_dimension,
    check_k,
)

T = TypeVar("T")


def _match(values: Sequence[Any]) -> qm.Match:
    if len(values) == 1:
        return qm.MatchValue(value=values[0])
    return qm.MatchAny(any=list(values))


def _filter(where: Sequence[Condition], exclude_ids: Sequence[str] = ()) -> qm.Filter | None:
    must: list[qm.Condition] = []
    must_not: list[qm.Condition] = []
    for c in where:
        if c.any_of is not None:
            must.append(qm.FieldCondition(key=c.key, match=_match(c.any_of)))
        if c.none_of:
            must_not.append(qm.FieldCondition(key=c.key, match=_match(c.none_of)))
        if c.is_range:
            rng = qm.Range(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt)
            must.append(qm.FieldCondition(key=c.key, range=rng))
    if exclude_ids:
        must_not.append(qm.HasIdCondition(has_id=list(exclude_ids)))
    if not must and not must_not:
        return None
    return qm.Filter(must=must or None, must_not=must_not or None)


class ServerStore:
    """The same contract as the embedded store, over qdrant-client."""

    backend = "server"

    def __init__(
        self, url: str, api_key: str | None = None, timeout: float = 30.0, keep_open: bool = False
    ) -> None:
        self.url = url
        self._keep_open = keep_open
        if url == ":memory:":
            self._client = QdrantClient(location=":memory:")
        else:
            self._client = QdrantClient(url=url, api_key=api_key, timeout=int(timeout))
        self._dims: dict[str, int] = {}

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (ResponseHandlingException, ConnectionError, TimeoutError) as exc:
            raise StoreUnavailableError(
                f"Qdrant at {self.url} is unreachable ({type(exc).__name__}): start it "
                "(`docker compose up -d qdrant`), check LOOKALIKE_QDRANT_URL and the API key, or "
                "unset LOOKALIKE_QDRANT_URL to use the embedded store."
            ) from exc
        except UnexpectedResponse as exc:
            raise StoreError(f"Qdrant at {self.url} refused the request: {exc}") from exc

    def has_collection(self, name: str) -> bool:
        return self._call(lambda: self._client.collection_exists(name))

    def dimension(self, name: str) -> int:
        if name not in self._dims:
            if not self.has_collection(name):
                raise StoreError(
                    f"collection {name!r} does not exist on {self.url}: run `lookalike run` "
                    "(or `lookalike index`) first, or check LOOKALIKE_COLLECTION."
                )
            info = self._call(lambda: self._client.get_collection(name))
            params = info.config.params.vectors
            if not isinstance(params, qm.VectorParams):
                raise StoreError(f"collection {name!r} uses named vectors; Lookalike expects one.")
            self._dims[name] = int(params.size)
        return self._dims[name]

    def ensure_collection(self, spec: CollectionSpec) -> None:
        if self.has_collection(spec.name):
            if (dim := self.dimension(spec.name)) != spec.dim:
                raise StoreError(
                    f"collection {spec.name!r} holds {dim}-d vectors, not {spec.dim}-d: choose "
                    "another collection name or delete it (`lookalike index --recreate`)."
                )
            return
        vectors = qm.VectorParams(size=spec.dim, distance=qm.Distance.COSINE)
        self._call(lambda: self._client.create_collection(spec.name, vectors_config=vectors))
        fields = [(k, qm.PayloadSchemaType.KEYWORD) for k in spec.keyword_fields]
        fields += [(k, qm.PayloadSchemaType.INTEGER) for k in spec.integer_fields]
        for key, schema in fields:
            self._index_field(spec.name, key, schema)
        self._dims[spec.name] = spec.dim

    def _index_field(self, name: str, key: str, schema: qm.PayloadSchemaType) -> None:
        self._call(lambda: self._client.create_payload_index(name, key, schema))

    def delete_collection(self, name: str) -> None:
        self._dims.pop(name, None)
        self._call(lambda: self._client.delete_collection(name))

    def upsert(self, name: str, batch: PointBatch) -> None:
        check_dimension(name, self.dimension(name), batch.vectors)
        points = [
            qm.PointStruct(id=pid, vector=vec.tolist(), payload=payload)
            for pid, vec, payload in zip(batch.ids, batch.vectors, batch.payloads, strict=True)
        ]
        self._call(lambda: self._client.upsert(name, points=points, wait=True))

    def finalize(self, name: str) -> None:
        """The server indexes in the background; nothing to wait for with ``wait=True`` writes."""
        self.dimension(name)

    def count(self, name: str, where: Sequence[Condition] = ()) -> int:
        self.dimension(name)
        res = self._call(lambda: self._client.count(name, count_filter=_filter(where), exact=True))
        return int(res.count)

    def vectors(self, name: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        self.dimension(name)
        records = self._call(lambda: self._client.retrieve(name, list(ids), with_vectors=True))
        return {str(r.id): np.asarray(r.vector, dtype=np.float32) for r in records}

    def payloads(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        self.dimension(name)
        records = self._call(lambda: self._client.retrieve(name, list(ids), with_payload=True))
        return {str(r.id): dict(r.payload or {}) for r in records}

    def query(
        self,
        name: str,
        vectors: np.ndarray,
        k: int,
        where: Sequence[Condition] = (),
        exclude_ids: Sequence[str] = (),
    ) -> list[list[Hit]]:
        check_k(k)
        check_dimension(name, self.dimension(name), vectors)
        flt = _filter(where, exclude_ids)
        requests = [
            qm.QueryRequest(query=v.tolist(), filter=flt, limit=k, with_payload=True)
            for v in vectors
        ]
        responses = self._call(lambda: self._client.query_batch_points(name, requests=requests))
        return [
            [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in r.points]
            for r in responses
        ]

    def find_ids(self, name: str, where: Sequence[Condition], limit: int) -> list[str]:
        self.dimension(name)
        records, _ = self._call(
            lambda: self._client.scroll(name, scroll_filter=_filter(where), limit=limit)
        )
        return [str(r.id) for r in records]

    def close(self) -> None:
        if not self._keep_open:
            self._client.close()
