"""What both backends do alike with requests and answers: vectors checked, records read back,
a recommendation made one query, a filter's unindexed fields found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from infra.store.base import (
    CollectionSpec,
    Condition,
    NotFoundError,
    PointBatch,
    Search,
    StoreError,
)


def stored_points(records: Sequence[Any]) -> PointBatch:
    """A page of either engine's records (id, vector, payload) as one batch: the vectors
    stacked in one call, each record's properties read once (each read converts anew)."""
    ids = [str(r.id) for r in records]
    vectors = np.asarray([r.vector for r in records], dtype=np.float32)
    return PointBatch(ids, vectors, [r.payload or {} for r in records])


def stored_in_order(name: str, found: dict[str, np.ndarray], ids: Sequence[str]) -> np.ndarray:
    """The vectors ``found`` for ``ids``, stacked in order; refused when one is not stored."""
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"no point {missing[0]!r} in {name!r}.")
    return np.stack([found[i] for i in ids])


def example_query(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """Qdrant's average-vector recommendation as one query row:
    ``mean(positive) + (mean(positive) - mean(negative))``, the positives' mean without
    negatives; checked as a consumer's vector is (:func:`query_row`)."""
    query = positives.mean(axis=0)
    if len(negatives):
        query = 2 * query - negatives.mean(axis=0)
    return query_row(query)


def query_row(vector: np.ndarray) -> np.ndarray:
    """One query vector as a float32 row; refused when it has no cosine similarity: a value that
    is not a finite float32 number (the engine answers ``null`` scores), or all zeros (it answers
    0 for any item)."""
    with np.errstate(over="ignore", invalid="ignore"):
        row = np.asarray(vector, dtype=np.float32).reshape(1, -1)
    bad = np.flatnonzero(~np.isfinite(row[0]))
    if len(bad):
        at = int(bad[0])
        raise StoreError(
            f"the vector's value at position {at} ({float(np.ravel(vector)[at])!r}) is not a "
            "finite float32 number: send values between -3.4e38 and 3.4e38."
        )
    if not row.any():
        raise StoreError(
            "an all-zero vector has no direction, so no item is more like it than another: "
            "send a vector with at least one non-zero value."
        )
    return row


def payload_wanted(search: Search) -> bool | list[str]:
    """``Search.with_payload`` as both engines take it: a list of keys, or all or nothing."""
    keys = search.with_payload
    return list(keys) if isinstance(keys, tuple) else keys


def unindexed(where: Sequence[Condition], indexed: frozenset[str]) -> list[str]:
    """The fields of ``where`` without a payload index, each once, in order. Filtered on such a
    field, the engine can neither tell how many points match nor follow links between them, and
    walks the graph blind (recall@10 0.11 for a price band at 100,000 points,
    benchmarks.scale): both stores answer such a search by an exact scan, right at any size."""
    return list(dict.fromkeys(c.key for c in where if c.key not in indexed))


def check_dimension(name: str, expected: int, vectors: np.ndarray) -> None:
    if vectors.ndim != 2 or vectors.shape[1] != expected:
        raise StoreError(
            f"collection {name!r} holds {expected}-d vectors but got shape {tuple(vectors.shape)}: "
            "embed with the model that built the collection, or index into a new collection."
        )


def check_dimension_of(spec: CollectionSpec, held: int) -> None:
    """An existing collection must hold vectors of the spec's size."""
    if held != spec.dim:
        raise StoreError(
            f"collection {spec.name!r} holds {held}-d vectors, not {spec.dim}-d: index under "
            "another name (--dataset), or delete old indexes with `lookalike index prune`."
        )


def unknown_collection(name: str, where: str) -> StoreError:
    return NotFoundError(
        f"no collection or alias {name!r} in {where}: run `lookalike run` (or `lookalike index "
        "build`) first, or check LOOKALIKE_ALIAS; `lookalike index ls` lists what exists."
    )
