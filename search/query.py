"""Queries a consumer asks of an index, the same on every backend and from every surface: the
command line, the HTTP API and the gallery each build a :data:`Target` and call :func:`ask`."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from catalogs.readers import reader_for_kind
from infra.store.base import Condition, Hit, NotFoundError, Search, StoreError, point_id
from infra.store.protocol import VectorStore
from infra.store.shared import query_row, stored_in_order
from search import products
from search.filter_check import matches, served_right
from search.filters import check_against, check_filters, fields_of
from search.metadata import CollectionMeta, read_meta
from search.options import QueryOptions

Strategy = Literal["average_vector", "best_score", "centroid"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)


PROBE_EF = 32  # the beam of the search that finds where a query vector sits


@dataclass(frozen=True)
class ByItem:
    """The items most like a stored item, the item itself excluded."""

    item_id: str


@dataclass(frozen=True)
class ByVector:
    """The items nearest to a vector: a raw one, or an uploaded photo's embedding."""

    vector: np.ndarray


@dataclass(frozen=True)
class ByExamples:
    """Items like the liked ones and unlike the disliked ones, the examples excluded."""

    like: tuple[str, ...]
    dislike: tuple[str, ...] = ()
    strategy: Strategy = "average_vector"


Target = ByItem | ByVector | ByExamples


def ask(
    store: VectorStore,
    name: str,
    target: Target,
    opts: QueryOptions,
    meta: CollectionMeta | None = None,
) -> list[Hit]:
    """The one query path: every surface's question, answered from collection ``name``, whose
    record ``meta`` the caller may hold already (a server's API reads it once, not per query)."""
    meta = meta or read_meta(store, name)
    where, held = opts.where, meta
    keys = tuple(dict.fromkeys(c.key for c in where))
    opts = served_right(
        opts,
        meta,
        lambda: _near(store, name, target, keys),
        lambda: matches(store, name, held, where),
    )
    if isinstance(target, ByItem):
        return similar_to_item(store, name, target.item_id, opts, meta)
    if isinstance(target, ByVector):
        return similar_to_vector(store, name, query_row(target.vector), opts, meta=meta)
    return recommend(store, name, target.like, target.dislike, target.strategy, opts, meta)


def _near(
    store: VectorStore, name: str, target: Target, keys: tuple[str, ...]
) -> dict[str, Any] | None:
    """The payload (``keys`` of it) of the point ``target`` sits at: the item asked about, or a
    vector's nearest item (one unfiltered search, at a narrow beam: it tells where the query
    sits, not its answer; 0.14 against 0.40 ms at a million points); None for examples."""
    if isinstance(target, ByItem):
        return item_payloads(store, name, [target.item_id])[0]
    if isinstance(target, ByVector):
        probe = Search(1, with_payload=keys, hnsw_ef=PROBE_EF)
        hits = store.query(name, query_row(target.vector), probe)[0]
        return hits[0].payload if hits else None
    return None


def _unknown_item(name: str, item_id: str) -> NotFoundError:
    return NotFoundError(
        f"unknown item id {item_id!r} in {name!r}: use an id from the payload field "
        "item_id ('train-123' or 'test-45' for Fashion-MNIST; a catalog's own ids)."
    )


def resolve_items(store: VectorStore, name: str, item_ids: Sequence[str]) -> list[str]:
    """Point ids of the items whose payload ``item_id`` is given, in order."""
    found = store.find_ids(name, [Condition("item_id", any_of=tuple(item_ids))], len(item_ids))
    by_item = {p["item_id"]: pid for pid, p in store.payloads(name, found).items()}
    missing = [i for i in item_ids if i not in by_item]
    if missing:
        raise _unknown_item(name, missing[0])
    return [by_item[i] for i in item_ids]


def item_payloads(store: VectorStore, name: str, item_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The payloads of the items ``item_ids``, in order; an unknown id is named."""
    pids = resolve_items(store, name, item_ids)
    payloads = store.payloads(name, pids)
    return [dict(payloads[p]) for p in pids]


def point_ids(
    store: VectorStore, name: str, item_ids: Sequence[str], meta: CollectionMeta
) -> list[str]:
    """The items' point ids, in order: computed where the collection records how they are made
    (its dataset and kind), so no store call; else looked up by payload."""
    keys = [reader_for_kind(meta.kind).point_key(i) for i in item_ids] if meta.dataset else []
    if meta.dataset and all(keys):
        return [point_id(meta.dataset, *k) for k in keys if k]
    return resolve_items(store, name, item_ids)


@contextmanager
def _items_named(
    store: VectorStore, name: str, item_ids: Sequence[str], pids: list[str]
) -> Iterator[None]:
    """A store's "no such point" said as the consumer's unknown item id (looked up only then:
    the answer's path makes no extra call)."""
    try:
        yield
    except NotFoundError:
        found = store.vectors(name, pids)
        for item, pid in zip(item_ids, pids, strict=True):
            if pid not in found:
                raise _unknown_item(name, item) from None
        raise


def item_vectors(
    store: VectorStore, name: str, item_ids: Sequence[str], meta: CollectionMeta
) -> tuple[list[str], np.ndarray]:
    """The items' point ids and stored vectors, in order."""
    pids = point_ids(store, name, item_ids, meta)
    if not pids:
        return pids, np.zeros((0, 0), np.float32)
    with _items_named(store, name, item_ids, pids):
        return pids, stored_in_order(name, store.vectors(name, pids), pids)


def similar_to_items(
    store: VectorStore,
    name: str,
    item_ids: Sequence[str],
    opts: QueryOptions | None = None,
    meta: CollectionMeta | None = None,
) -> list[list[Hit]]:
    """The items most like each of ``item_ids``, each item left out of its own: one store
    call, the query by point id (the point ids follow from the item ids)."""
    opts = opts or QueryOptions()
    meta = meta or read_meta(store, name)
    if opts.where:
        check_against(store, name, opts.where, meta)
    if meta.photos_per_product > 1:
        opts = products.grouped(opts, meta)
        return [
            products.like(store, name, n, opts) for n in products.named(store, name, item_ids, meta)
        ]
    pids = point_ids(store, name, item_ids, meta)
    with _items_named(store, name, item_ids, pids):
        rows = store.query_points(name, pids, opts.search())
    return [opts.finish(hits) for hits in rows]


def similar_to_vector(
    store: VectorStore,
    name: str,
    vector: np.ndarray,
    opts: QueryOptions,
    exclude_ids: Sequence[str] = (),
    meta: CollectionMeta | None = None,
) -> list[Hit]:
    """The items nearest to one query vector (a consumer's checked by :func:`query_row`)."""
    return similar_to_vectors(store, name, vector, opts, exclude_ids, meta)[0]


def similar_to_vectors(
    store: VectorStore,
    name: str,
    rows: np.ndarray,
    opts: QueryOptions,
    exclude_ids: Sequence[str] = (),
    meta: CollectionMeta | None = None,
) -> list[list[Hit]]:
    """The items nearest to each of several query vectors, in one store call (``exclude_ids``
    apply to every row)."""
    query = np.asarray(rows, dtype=np.float32).reshape(-1, np.shape(rows)[-1])
    meta = meta or read_meta(store, name)
    if opts.where:
        check_against(store, name, opts.where, meta)
    opts = products.grouped(opts, meta)
    return [opts.finish(hits) for hits in store.query(name, query, opts.search(exclude_ids))]


def similar_to_item(
    store: VectorStore,
    name: str,
    item_id: str,
    opts: QueryOptions | None = None,
    meta: CollectionMeta | None = None,
) -> list[Hit]:
    """The items most like ``item_id``, the item itself excluded."""
    return similar_to_items(store, name, [item_id], opts, meta)[0]


def recommend(
    store: VectorStore,
    name: str,
    positive: Sequence[str],
    negative: Sequence[str] = (),
    strategy: Strategy = "average_vector",
    opts: QueryOptions | None = None,
    meta: CollectionMeta | None = None,
) -> list[Hit]:
    """Items like the liked ``positive`` ones and unlike the ``negative`` ones, examples excluded:
    one store call, the recommendation by point ids.

    ``average_vector`` searches ``2 * mean(positive) - mean(negative)`` (Qdrant's formula);
    ``centroid`` searches the mean of the positives (a user's collection); ``best_score`` uses
    Qdrant's best-score recommendation.
    """
    opts = opts or QueryOptions()
    if not positive:
        raise StoreError("recommend needs at least one liked (positive) item.")
    if strategy not in STRATEGIES:
        raise StoreError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}.")
    meta = meta or read_meta(store, name)
    items = [*positive, *negative]
    if opts.where:
        check_against(store, name, opts.where, meta)
    if meta.photos_per_product > 1:
        # Each liked or disliked product with all its photos; all of them left out.
        named = products.named(store, name, items, meta)
        opts = products.leaving_out(products.grouped(opts, meta), [n.product for n in named])
        pos = [p for n in named[: len(positive)] for p in n.points]
        neg = [p for n in named[len(positive) :] for p in n.points]
        pids = [*pos, *neg]
    else:
        pids = point_ids(store, name, items, meta)
        pos, neg = pids[: len(positive)], pids[len(positive) :]
    # centroid: the positives' mean, the disliked items only left out
    examples = neg if strategy != "centroid" else []
    # Grouped, the ids were looked up by payload already: no point can be missing.
    named_ok = (
        nullcontext() if meta.photos_per_product > 1 else _items_named(store, name, items, pids)
    )
    with named_ok:
        hits = store.recommend_points(
            name, pos, examples, opts.search(pids), best_score=strategy == "best_score"
        )
    return opts.finish(hits)


SAMPLE_POOL = 2000


def sample(
    store: VectorStore, name: str, where: Sequence[Condition], n: int, seed: int
) -> list[Hit]:
    """``n`` items matching ``where``, picked by ``seed`` from the first matches in id order
    (point ids are hashes, so that order is already unrelated to the catalog's); scores are 0."""
    if where:
        check_filters(where, fields_of(store, name))
    ids = store.find_ids(name, where, SAMPLE_POOL)
    picked = random.Random(seed).sample(ids, min(n, len(ids)))
    payloads = store.payloads(name, picked)
    return [Hit(pid, 0.0, payloads[pid]) for pid in picked if pid in payloads]
