"""Embedded backend: qdrant-edge, Qdrant's in-process engine, one shard directory per collection."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from infra.store.base import (
    CollectionSpec,
    Condition,
    Hit,
    PointBatch,
    StoreError,
    check_dimension,
    check_k,
)

_META = "collection.json"


def _condition(c: Condition) -> list[Any]:
    """One of our conditions as edge ``must`` parts (a ``none_of`` goes in ``must_not``)."""
    parts: list[Any] = []
    if c.any_of is not None:
        parts.append(qe.FieldCondition(key=c.key, match=_match_any(c.any_of)))
    if c.is_range:
        parts.append(
            qe.FieldCondition(
                key=c.key, range=qe.RangeFloat(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt)
            )
        )
    return parts


def _match_any(values: Sequence[Any]) -> Any:
    if len(values) == 1:
        return qe.MatchValue(values[0])
    return qe.MatchAny(list(values))


def _filter(where: Sequence[Condition], exclude_ids: Sequence[str] = ()) -> qe.Filter | None:
    must = [part for c in where for part in _condition(c)]
    must_not: list[Any] = [
        qe.FieldCondition(key=c.key, match=_match_any(c.none_of)) for c in where if c.none_of
    ]
    if exclude_ids:
        must_not.append(qe.HasIdCondition(set(exclude_ids)))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


class EdgeStore:
    """Collections are folders ``<root>/<name>/`` holding the shard and a small metadata file."""

    backend = "embedded"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._shards: dict[str, qe.EdgeShard] = {}

    def _dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise StoreError(f"invalid collection name {name!r}")
        return self.root / name

    def _meta(self, name: str) -> dict[str, Any]:
        path = self._dir(name) / _META
        if not path.is_file():
            raise StoreError(
                f"collection {name!r} does not exist in {self.root}: run `lookalike run` (or "
                "`lookalike index`) first, or check LOOKALIKE_COLLECTION."
            )
        meta: dict[str, Any] = json.loads(path.read_text())
        return meta

    def _shard(self, name: str) -> qe.EdgeShard:
        if name not in self._shards:
            self._meta(name)
            self._shards[name] = qe.EdgeShard.load(str(self._dir(name) / "shard"))
        return self._shards[name]

    def has_collection(self, name: str) -> bool:
        return (self._dir(name) / _META).is_file()

    def dimension(self, name: str) -> int:
        return int(self._meta(name)["dim"])

    def ensure_collection(self, spec: CollectionSpec) -> None:
        if self.has_collection(spec.name):
            if (dim := self.dimension(spec.name)) != spec.dim:
                raise StoreError(
                    f"collection {spec.name!r} holds {dim}-d vectors, not {spec.dim}-d: choose "
                    "another collection name or delete it (`lookalike index --recreate`)."
                )
            return
        folder = self._dir(spec.name)
        shutil.rmtree(folder, ignore_errors=True)  # leftovers of a create that died half-way
        folder.mkdir(parents=True)
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=spec.dim, distance=qe.Distance.Cosine)
        )
        shard = qe.EdgeShard.create(str(folder / "shard"), config)
        for key in spec.keyword_fields:
            shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword))
        for key in spec.integer_fields:
            shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Integer))
        shard.flush()
        self._shards[spec.name] = shard
        meta = {"dim": spec.dim, "distance": "cosine"}
        (folder / _META).write_text(json.dumps(meta))  # written last: marks the create complete

    def delete_collection(self, name: str) -> None:
        shard = self._shards.pop(name, None)
        if shard is not None:
            shard.close()
        shutil.rmtree(self._dir(name), ignore_errors=True)

    def upsert(self, name: str, batch: PointBatch) -> None:
        check_dimension(name, self.dimension(name), batch.vectors)
        points = [
            qe.Point(id=pid, vector=vec.tolist(), payload=payload)
            for pid, vec, payload in zip(batch.ids, batch.vectors, batch.payloads, strict=True)
        ]
        self._shard(name).update(qe.UpdateOperation.upsert_points(points))

    def finalize(self, name: str) -> None:
        shard = self._shard(name)
        shard.flush()
        shard.optimize()

    def count(self, name: str, where: Sequence[Condition] = ()) -> int:
        return int(self._shard(name).count(qe.CountRequest(filter=_filter(where), exact=True)))

    def vectors(self, name: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        records = self._shard(name).retrieve(list(ids), with_payload=False, with_vector=True)
        return {str(r.id): np.asarray(r.vector, dtype=np.float32) for r in records}

    def payloads(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        records = self._shard(name).retrieve(list(ids), with_payload=True, with_vector=False)
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
            qe.QueryRequest(
                limit=k, query=qe.Query.Nearest(v.tolist()), filter=flt, with_payload=True
            )
            for v in vectors
        ]
        results = self._shard(name).query_batch(qe.QueryBatchRequest(requests))
        return [[Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in r] for r in results]

    def find_ids(self, name: str, where: Sequence[Condition], limit: int) -> list[str]:
        records, _ = self._shard(name).scroll(
            qe.ScrollRequest(limit=limit, filter=_filter(where), with_payload=False)
        )
        return [str(r.id) for r in records]

    def close(self) -> None:
        for shard in self._shards.values():
            shard.flush()
            shard.close()
        self._shards.clear()
