"""What the embedded store hands qdrant-edge: a new shard's configuration, filters, requests and
search parameters, and the engine's points read back as hits."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import qdrant_edge as qe

from infra.store.base import (
    SCAN_OVERSAMPLING,
    SCAN_VECTOR,
    Condition,
    Hit,
    IndexKind,
    IndexParams,
    Search,
)
from infra.store.filters import Part, parts
from infra.store.shared import payload_wanted, unindexed

SCHEMAS = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
}
MAIN = [""]  # the main vector, as a selector: a collection with a scan copy holds two


def field_index(kind: IndexKind, principal: bool) -> Any:
    """A payload index's schema; a principal field's points are stored in its order."""
    if not principal or kind == "float":
        return SCHEMAS[kind]
    if kind == "keyword":
        return qe.KeywordIndexParams(is_tenant=True)
    return qe.IntegerIndexParams(lookup=True, range=True, is_principal=True)


def edge_match(values: tuple[Any, ...]) -> Any:
    return qe.MatchValue(values[0]) if len(values) == 1 else qe.MatchAny(list(values))


def edge_part(p: Part) -> Any:
    if p.key is None:
        return qe.HasIdCondition(set(p.values))
    if p.range is not None:
        gte, gt, lte, lt = p.range
        return qe.FieldCondition(key=p.key, range=qe.RangeFloat(gte=gte, gt=gt, lte=lte, lt=lt))
    return qe.FieldCondition(key=p.key, match=edge_match(p.values))


def edge_filter(where: Sequence[Condition], exclude_ids: Sequence[str] = ()) -> qe.Filter | None:
    must, must_not = _parts(tuple(where), tuple(exclude_ids))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


@functools.lru_cache(maxsize=256)
def _parts(
    where: tuple[Condition, ...], exclude_ids: tuple[str, ...]
) -> tuple[list[Any], list[Any]]:
    # Remembered: consumers repeat a few filters, and building one costs a tenth of a
    # filtered query on 100,000 points (benchmarks.scale).
    must, must_not = parts(where, exclude_ids)
    return [edge_part(p) for p in must], [edge_part(p) for p in must_not]


def excluding(search: Search, point: str) -> qe.Filter:
    """The search's filter with ``point`` left out too: the shared part remembered, the point
    added per query (a filter cached per point would push the shared ones out)."""
    must, must_not = _parts(tuple(search.where), tuple(search.exclude_ids))
    return qe.Filter(must=must or None, must_not=[*must_not, qe.HasIdCondition({point})])


def request(search: Search, query: Any, flt: qe.Filter | None, params: Any) -> qe.QueryRequest:
    return qe.QueryRequest(
        limit=search.k,
        offset=search.offset,
        query=query,
        filter=flt,
        score_threshold=search.score_threshold,
        params=params,
        with_payload=payload_wanted(search),
        with_vector=MAIN if search.with_vectors else False,
    )


def query_of(vector: np.ndarray | list[float], search: Search, using: str | None = None) -> Any:
    values = vector.tolist() if isinstance(vector, np.ndarray) else vector
    if search.mmr is None:
        return qe.Query.Nearest(values, using=using)
    return qe.Mmr(values, search.mmr.lambda_, search.mmr.candidates, using=using)


def hit(p: Any, with_id: bool = True) -> Hit:
    # Each property of an engine's point converts its value anew: read each once. The id costs
    # most (~3 us: the engine makes a uuid.UUID, then its string).
    payload, vector = p.payload, p.vector
    pid = str(p.id) if with_id else ""
    if payload is None and vector is None:  # ids and scores only: the common batch case
        return Hit(pid, p.score)
    array = None if vector is None else np.asarray(vector, dtype=np.float32)
    return Hit(pid, float(p.score), payload or {}, array)


def scan_copy(dim: int) -> qe.EdgeVectorParams:
    """The scan copy's vector: no graph (every search of it scans the filter's matches through
    the payload index), 4-bit TurboQuant codes pinned in RAM (measured at a million points,
    one label: 3.56 ms against int8's 5.52 at recall@10 0.998; binary codes fell to 0.67
    on these non-centred vectors), half-precision vectors on disk to rescore (1 GB a million
    points at 512-d, against 2 GB in float32, for recall@10 0.9965 against 0.998)."""
    return qe.EdgeVectorParams(
        size=dim,
        distance=qe.Distance.Cosine,
        datatype=qe.VectorStorageDatatype.Float16,
        memory=qe.Memory.Cold,
        hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10, payload_m=0),
        quantization_config=qe.TurboQuantQuantizationConfig(
            bits=qe.TurboQuantBitSize.Bits4, memory=qe.Memory.Pinned
        ),
    )


def edge_config(index: IndexParams, dim: int) -> qe.EdgeConfig:
    """How a new collection's shard is made: its vectors (with quantization, the main one and
    its scan copy), graph, int8 copy and optimizers."""
    main = qe.EdgeVectorParams(
        size=dim, distance=qe.Distance.Cosine, memory=qe.Memory.Cold if index.quantization else None
    )
    hnsw = qe.HnswIndexConfig(
        m=index.m,
        ef_construct=index.ef_construct,
        full_scan_threshold=index.scan_threshold_kb,
        payload_m=index.payload_m,
    )
    # Payload kept in RAM: hits carry their payload, and reading it cold costs ~1 ms a query.
    # One search thread: on a top-10 query the thread hand-off costs more than it saves
    # (measured 0.33 -> 0.24 ms p50 on 70k points), and concurrent callers still scale.
    return qe.EdgeConfig(
        # Quantized, the float vectors are read only to rescore a few candidates: they stay
        # on disk, and the int8 copy (a quarter of their size) is pinned in RAM.
        vectors=({"": main, SCAN_VECTOR: scan_copy(dim)} if index.quantization else main),
        hnsw_config=hnsw,
        payload_memory=qe.Memory.Cached,
        max_search_threads=1,
        # No write-ahead log: upserts run faster without it (benchmarks.upsert_log), a
        # copied revision does not carry its 64 MB of preallocated files, and nothing needs
        # it: every writer flushes before it counts a shard as written (a killed run's
        # unflushed points are planned again by the re-run), and a lock of Lookalike's own
        # keeps a second store out of an open collection.
        wal_enabled=index.write_ahead_log,
        quantization_config=(
            qe.ScalarQuantizationConfig(qe.ScalarType.Int8, memory=qe.Memory.Pinned)
            if index.quantization
            else None
        ),
        optimizers=(
            None
            if index.indexing_threshold_kb is None
            else qe.EdgeOptimizersConfig(indexing_threshold=index.indexing_threshold_kb)
        ),
    )


def search_params(
    index: IndexParams, search: Search, indexed: frozenset[str], scanned: bool = False
) -> qe.SearchParams:
    """How every search walks the collection: an exact scan (asked, a scan asked of a
    collection without a scan copy, or a filter on a field without a payload index), the
    scan copy (``scanned``: its 4-bit candidates rescored), or the request's (else the
    store's) beam, and on a quantized collection the int8 candidates rescored with the float
    vectors."""
    if scanned:
        rescored = qe.QuantizationSearchParams(rescore=True, oversampling=SCAN_OVERSAMPLING)
        return qe.SearchParams(quantization=rescored)
    exact = search.exact or search.scan or bool(unindexed(search.where, indexed))
    ef = None if exact else search.hnsw_ef or index.hnsw_ef
    rescore = (
        qe.QuantizationSearchParams(rescore=True, oversampling=index.oversampling)
        if index.quantization
        else None
    )
    return qe.SearchParams(exact=exact, hnsw_ef=ef, quantization=rescore)
