"""Our payload conditions in each backend's own filter types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import qdrant_edge as qe
from qdrant_client import models as qm

from infra.store.base import Condition


def _edge_condition(c: Condition) -> list[Any]:
    """One of our conditions as edge ``must`` parts (a ``none_of`` goes in ``must_not``)."""
    parts: list[Any] = []
    if c.any_of is not None:
        parts.append(qe.FieldCondition(key=c.key, match=_edge_match(c.any_of)))
    if c.is_range:
        parts.append(
            qe.FieldCondition(
                key=c.key, range=qe.RangeFloat(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt)
            )
        )
    return parts


def _edge_match(values: Sequence[Any]) -> Any:
    if len(values) == 1:
        return qe.MatchValue(values[0])
    return qe.MatchAny(list(values))


def edge_filter(where: Sequence[Condition], exclude_ids: Sequence[str] = ()) -> qe.Filter | None:
    must = [part for c in where for part in _edge_condition(c)]
    must_not: list[Any] = [
        qe.FieldCondition(key=c.key, match=_edge_match(c.none_of)) for c in where if c.none_of
    ]
    if exclude_ids:
        must_not.append(qe.HasIdCondition(set(exclude_ids)))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


def _server_match(values: Sequence[Any]) -> qm.Match:
    if len(values) == 1:
        return qm.MatchValue(value=values[0])
    return qm.MatchAny(any=list(values))


def server_filter(where: Sequence[Condition], exclude_ids: Sequence[str] = ()) -> qm.Filter | None:
    must: list[qm.Condition] = []
    must_not: list[qm.Condition] = []
    for c in where:
        if c.any_of is not None:
            must.append(qm.FieldCondition(key=c.key, match=_server_match(c.any_of)))
        if c.none_of:
            must_not.append(qm.FieldCondition(key=c.key, match=_server_match(c.none_of)))
        if c.is_range:
            rng = qm.Range(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt)
            must.append(qm.FieldCondition(key=c.key, range=rng))
    if exclude_ids:
        must_not.append(qm.HasIdCondition(has_id=list(exclude_ids)))
    if not must and not must_not:
        return None
    return qm.Filter(must=must or None, must_not=must_not or None)
