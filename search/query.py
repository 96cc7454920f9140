"""Queries a consumer asks of an index, the same on every backend."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from infra.store.base import (
    MAX_K,
    Condition,
    Hit,
    Mmr,
    NotFoundError,
    Scalar,
    Search,
    StoreError,
    VectorStore,
    check_k,
)

Strategy = Literal["average_vector", "best_score", "centroid"]
STRATEGIES: tuple[str, ...] = ("average_vector", "best_score", "centroid")


@dataclass(frozen=True)
class Boost:
    """Re-rank: add ``weight`` to the score of hits whose ``key`` is one of ``values`` (e.g.
    in-season items). The reported score is the boosted one."""

    key: str
    values: tuple[Scalar, ...]
    weight: float

    def apply(self, hits: list[Hit]) -> list[Hit]:
        boosted = [
            Hit(h.id, h.score + self.weight, h.payload)
            if h.payload.get(self.key) in self.values
            else h
            for h in hits
        ]
        return sorted(boosted, key=lambda h: -h.score)


Diversity = Literal["none", "mmr"]
MMR_POOL = 100  # candidates MMR chooses from, at least: it only reorders what it is given


@dataclass(frozen=True)
class QueryOptions:
    """What every query accepts.

    ``max_per_label`` caps hits sharing a ``diversity_key`` value; ``dedup`` collapses a hit
    whose cosine similarity to a better hit reaches it (near-duplicates), still returning ``k``
    hits when there are enough; ``diversity="mmr"`` has Qdrant re-rank by maximal marginal
    relevance, ``mmr_lambda`` weighing relevance (1) against diversity (0)."""

    k: int = 10
    where: tuple[Condition, ...] = ()
    offset: int = 0
    score_threshold: float | None = None
    max_per_label: int | None = None
    diversity_key: str = "label"
    boost: Boost | None = None
    hnsw_ef: int | None = None  # search beam for this query; None: the store's setting
    dedup: float | None = None
    diversity: Diversity = "none"
    mmr_lambda: float = 0.5

    def __post_init__(self) -> None:
        check_k(self.k, self.offset)
        if self.hnsw_ef is not None and self.hnsw_ef < 1:
            raise StoreError(f"hnsw_ef must be at least 1, got {self.hnsw_ef}.")
        if self.max_per_label is not None and self.max_per_label < 1:
            raise StoreError(f"max_per_label must be at least 1, got {self.max_per_label}.")
        if self.dedup is not None and not 0 < self.dedup <= 1:
            raise StoreError(
                f"the dedup threshold is a cosine similarity in (0, 1], got {self.dedup}: "
                "0.97 collapses near-identical photos."
            )
        if self.diversity not in ("none", "mmr"):
            raise StoreError(f"diversity is 'none' or 'mmr', not {self.diversity!r}.")
        Mmr(self.mmr_lambda, 1)  # checks the lambda

    @property
    def _reranked(self) -> bool:
        """Whether hits are re-ranked or dropped here, so the store pages nothing itself."""
        return self.boost is not None or self.dedup is not None

    @property
    def fetch(self) -> int:
        """How many hits to ask for: more than ``k`` when some will be capped or collapsed
        away, and a window ten times the page when a boost re-ranks them (offset applied
        after it)."""
        if self._reranked:
            return min(MAX_K, (self.offset + self.k) * 10)
        if self.max_per_label is None:
            return self.k
        return min(MAX_K, self.k * 10)

    @property
    def store_offset(self) -> int:
        return 0 if self._reranked else self.offset

    def search(self, exclude_ids: Sequence[str] = ()) -> Search:
        """What to ask the store for: the window the boost, the cap and MMR need."""
        mmr = None
        if self.diversity == "mmr":
            mmr = Mmr(self.mmr_lambda, max(MMR_POOL, 10 * (self.fetch + self.store_offset)))
        return Search(
            self.fetch,
            self.where,
            exclude_ids,
            self.store_offset,
            self.score_threshold,
            hnsw_ef=self.hnsw_ef,
            with_vectors=self.dedup is not None,
            mmr=mmr,
        )

    def finish(self, hits: list[Hit]) -> list[Hit]:
        """Boost, collapse near-duplicates, page and cap what the store returned."""
        if self.boost is not None:
            hits = self.boost.apply(hits)
        if self.dedup is not None:
            hits = collapse(hits, self.dedup)
        if self._reranked:
            hits = hits[self.offset :]
        return _diversify(hits, self)


def collapse(hits: list[Hit], threshold: float) -> list[Hit]:
    """Drop each hit whose cosine similarity to a better kept hit reaches ``threshold``."""
    kept: list[Hit] = []
    vectors: list[np.ndarray] = []
    for h in hits:
        if h.vector is None:
            raise StoreError("dedup needs the hits' vectors; the store returned none.")
        v = h.vector / max(float(np.linalg.norm(h.vector)), 1e-12)
        if vectors and float(np.max(np.stack(vectors) @ v)) >= threshold:
            continue
        kept.append(h)
        vectors.append(v)
    return kept


def _diversify(hits: list[Hit], opts: QueryOptions) -> list[Hit]:
    if opts.max_per_label is None:
        return hits[: opts.k]
    seen: dict[object, int] = {}
    out = []
    for h in hits:
        key = h.payload.get(opts.diversity_key)
        if seen.get(key, 0) < opts.max_per_label:
            seen[key] = seen.get(key, 0) + 1
            out.append(h)
        if len(out) == opts.k:
            break
    return out


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


def fields_of(store: VectorStore, name: str) -> dict[str, str] | None:
    """The payload fields and their types, as recorded at indexing, or as one point shows them
    (collections made before fields were recorded); None for an empty collection."""
    recorded = store.metadata(name).get("fields")
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


def resolve_items(store: VectorStore, name: str, item_ids: Sequence[str]) -> list[str]:
    """Point ids of the items whose payload ``item_id`` is given, in order."""
    found = store.find_ids(name, [Condition("item_id", any_of=tuple(item_ids))], len(item_ids))
    by_item = {p["item_id"]: pid for pid, p in store.payloads(name, found).items()}
    missing = [i for i in item_ids if i not in by_item]
    if missing:
        raise NotFoundError(
            f"unknown item id {missing[0]!r} in {name!r}: use an id from the payload field "
            "item_id ('train-123' or 'test-45' for Fashion-MNIST; a catalog's own ids)."
        )
    return [by_item[i] for i in item_ids]


def _vectors(store: VectorStore, name: str, point_ids: Sequence[str]) -> np.ndarray:
    found = store.vectors(name, point_ids)
    return np.stack([found[p] for p in point_ids]) if point_ids else np.zeros((0, 0), np.float32)


def similar_to_vector(
    store: VectorStore,
    name: str,
    vector: np.ndarray,
    opts: QueryOptions,
    exclude_ids: Sequence[str] = (),
) -> list[Hit]:
    """The items nearest to one query vector."""
    if opts.where:
        check_filters(opts.where, fields_of(store, name))
    query = vector.reshape(1, -1).astype(np.float32)
    return opts.finish(store.query(name, query, opts.search(exclude_ids))[0])


def similar_to_item(
    store: VectorStore, name: str, item_id: str, opts: QueryOptions | None = None
) -> list[Hit]:
    """The items most like ``item_id``, the item itself excluded."""
    opts = opts or QueryOptions()
    pid = resolve_items(store, name, [item_id])[0]
    return similar_to_vector(store, name, _vectors(store, name, [pid])[0], opts, [pid])


def recommend(
    store: VectorStore,
    name: str,
    positive: Sequence[str],
    negative: Sequence[str] = (),
    strategy: Strategy = "average_vector",
    opts: QueryOptions | None = None,
) -> list[Hit]:
    """Items like the liked ``positive`` ones and unlike the ``negative`` ones, examples excluded.

    ``average_vector`` searches ``2 * mean(positive) - mean(negative)`` (Qdrant's formula);
    ``centroid`` searches the mean of the positives (a user's collection); ``best_score`` uses
    Qdrant's best-score recommendation.
    """
    opts = opts or QueryOptions()
    if not positive:
        raise StoreError("recommend needs at least one liked (positive) item.")
    if strategy not in STRATEGIES:
        raise StoreError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}.")
    pos_ids = resolve_items(store, name, positive)
    neg_ids = resolve_items(store, name, negative) if negative else []
    pos = _vectors(store, name, pos_ids)
    neg = _vectors(store, name, neg_ids) if neg_ids else np.zeros((0, pos.shape[1]), np.float32)
    examples = [*pos_ids, *neg_ids]
    if strategy == "best_score":
        if opts.where:
            check_filters(opts.where, fields_of(store, name))
        return opts.finish(store.recommend_best_score(name, pos, neg, opts.search(examples)))
    query = pos.mean(axis=0)
    if strategy == "average_vector" and len(neg):
        query = 2 * query - neg.mean(axis=0)
    return similar_to_vector(store, name, query, opts, examples)


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
