"""Filters checked against what a collection's payloads hold: Qdrant answers a filter on a
missing field, or with values of another type, with no hits and no word, so Lookalike says why
before asking."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from infra.store.base import Condition, StoreError
from infra.store.protocol import VectorStore
from search.metadata import CollectionMeta, read_meta

_ACCEPTS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


def check_filters(where: Sequence[Condition], fields: dict[str, str] | None) -> None:
    """Refuse a filter on a field the collection's payload lacks, or with values of another
    type: Qdrant would answer it with no hits, silently. Collections made before fields were
    recorded (``fields`` None) are not checked."""
    if fields is None:
        return
    for c in where:
        if c.key not in fields:
            raise StoreError(
                f"no payload field {c.key!r} to filter on; fields: {', '.join(sorted(fields))}."
            )
        kind = fields[c.key]
        if c.is_range and kind not in ("int", "float"):
            raise StoreError(f"field {c.key!r} holds {kind} values: a range needs numbers.")
        accepts = _ACCEPTS.get(kind)
        values = (*(c.any_of or ()), *(c.none_of or ()))
        wrong = [v for v in values if accepts and not _is(v, accepts)]
        if wrong:
            raise StoreError(
                f"field {c.key!r} holds {kind} values, not {type(wrong[0]).__name__} "
                f"({wrong[0]!r}): filter with a {kind}."
            )


@functools.lru_cache(maxsize=256)
def _check_once(where: tuple[Condition, ...], fields: tuple[tuple[str, str], ...]) -> None:
    check_filters(where, dict(fields))


def check_against(
    store: VectorStore, name: str, where: Sequence[Condition], meta: CollectionMeta
) -> None:
    """:func:`check_filters` against the collection's recorded fields, once per distinct filter
    (a consumer asks the same few again and again)."""
    if not where:
        return
    if meta.fields is None:
        check_filters(where, fields_of(store, name, meta))
        return
    _check_once(tuple(where), tuple(sorted(meta.fields.items())))


def fields_of(
    store: VectorStore, name: str, meta: CollectionMeta | None = None
) -> dict[str, str] | None:
    """The payload fields and their types, as recorded at indexing, or as one point shows them
    (collections made before fields were recorded); None for an empty collection."""
    recorded = (meta or read_meta(store, name)).fields
    if recorded is not None:
        return dict(recorded)
    sample = store.find_ids(name, [], limit=1)
    if not sample:
        return None
    payload = store.payloads(name, sample)[sample[0]]
    return {k: type(v).__name__ for k, v in payload.items()}


def _is(value: object, types: tuple[type, ...]) -> bool:
    # bool is an int to Python, never to a payload filter
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))
