"""Queries a consumer asks of an index, on any backend."""

from __future__ import annotations

from collections.abc import Sequence

from infra.store.base import Condition, Hit, StoreError, VectorStore


def resolve_item(store: VectorStore, collection: str, item_id: str) -> str:
    """The point id of the item whose payload ``item_id`` is given."""
    ids = store.find_ids(collection, [Condition.equals("item_id", item_id)], limit=1)
    if not ids:
        raise StoreError(
            f"unknown item id {item_id!r} in collection {collection!r}: item ids look like "
            "'train-123' or 'test-45'."
        )
    return ids[0]


def similar_to_item(
    store: VectorStore,
    collection: str,
    item_id: str,
    k: int = 10,
    where: Sequence[Condition] = (),
) -> list[Hit]:
    """The ``k`` items most like ``item_id``, the item itself excluded."""
    pid = resolve_item(store, collection, item_id)
    vector = store.vectors(collection, [pid])[pid]
    return store.query(collection, vector[None, :], k, where=where, exclude_ids=[pid])[0]
