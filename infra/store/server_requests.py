"""What the server store hands qdrant-client: a new collection's settings, filters, requests and
search parameters, and the server's points read back as hits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qdrant_client import models as qm

from infra.store.base import Condition, Hit, IndexParams, Search
from infra.store.filters import Part, build
from infra.store.shared import payload_wanted, unindexed

SCHEMAS = {
    "keyword": qm.PayloadSchemaType.KEYWORD,
    "integer": qm.PayloadSchemaType.INTEGER,
    "float": qm.PayloadSchemaType.FLOAT,
}


def server_match(values: tuple[Any, ...]) -> qm.Match:
    if len(values) == 1:
        return qm.MatchValue(value=values[0])
    return qm.MatchAny(any=list(values))


def server_part(p: Part) -> qm.Condition:
    if p.key is None:
        return qm.HasIdCondition(has_id=list(p.values))
    if p.range is not None:
        gte, gt, lte, lt = p.range
        return qm.FieldCondition(key=p.key, range=qm.Range(gte=gte, gt=gt, lte=lte, lt=lt))
    return qm.FieldCondition(key=p.key, match=server_match(p.values))


def server_filter(where: Sequence[Condition], exclude_ids: Sequence[str] = ()) -> qm.Filter | None:
    return build(where, exclude_ids, server_part, lambda m, n: qm.Filter(must=m, must_not=n))


def hits(points: Sequence[qm.ScoredPoint]) -> list[Hit]:
    return [
        Hit(
            str(p.id),
            float(p.score),
            dict(p.payload or {}),
            None if p.vector is None else np.asarray(p.vector, dtype=np.float32),
        )
        for p in points
    ]


def query_of(target: list[float] | str, search: Search) -> Any:
    """A nearest query for a vector or a stored point's id (Qdrant takes either)."""
    if search.mmr is None:
        return target
    # Qdrant's server API weighs diversity; lambda weighs relevance.
    mmr = qm.Mmr(diversity=1 - search.mmr.lambda_, candidates_limit=search.mmr.candidates)
    return qm.NearestQuery(nearest=target, mmr=mmr)


def collection_settings(index: IndexParams, dim: int) -> dict[str, Any]:
    """``create_collection``'s settings for a new collection: the same graph, line and int8
    copy as the embedded store builds."""
    quantization = (
        qm.ScalarQuantization(
            scalar=qm.ScalarQuantizationConfig(type=qm.ScalarType.INT8, always_ram=True)
        )
        if index.quantization
        else None
    )
    return {
        "vectors_config": qm.VectorParams(
            size=dim,
            distance=qm.Distance.COSINE,
            on_disk=True if index.quantization else None,  # as on the embedded store
        ),
        "hnsw_config": qm.HnswConfigDiff(
            m=index.m,
            ef_construct=index.ef_construct,
            payload_m=index.payload_m,
            full_scan_threshold=index.scan_threshold_kb,
        ),
        "optimizers_config": (
            None
            if index.indexing_threshold_kb is None
            else qm.OptimizersConfigDiff(indexing_threshold=index.indexing_threshold_kb)
        ),
        "quantization_config": quantization,
    }


def search_params(index: IndexParams, search: Search, indexed: frozenset[str]) -> qm.SearchParams:
    """How every search walks the collection: an exact scan (asked, a scan asked: a server's
    collection keeps no scan copy, or a filter on a field without a payload index), else the
    request's (or the store's) beam with the int8 candidates of a quantized collection
    rescored."""
    if search.exact or search.scan or bool(unindexed(search.where, indexed)):
        return qm.SearchParams(exact=True)
    rescore = (
        qm.QuantizationSearchParams(rescore=True, oversampling=index.oversampling)
        if index.quantization
        else None
    )
    return qm.SearchParams(hnsw_ef=search.hnsw_ef or index.hnsw_ef, quantization=rescore)


def request(query: Any, search: Search, params: qm.SearchParams) -> qm.QueryRequest:
    return qm.QueryRequest(
        query=query,
        filter=server_filter(search.where, search.exclude_ids),
        limit=search.k,
        offset=search.offset,
        score_threshold=search.score_threshold,
        params=params,
        with_payload=payload_wanted(search),
        with_vector=search.with_vectors,
    )
