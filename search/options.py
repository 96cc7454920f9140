"""A query's options as the store sees them: the window to fetch, then boost, collapse, page
and cap what came back. Consumers give them as :class:`search.request.QueryArgs`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from catalogs.products import PRODUCT, product_of
from infra.store.base import MAX_K, Condition, Hit, Mmr, Scalar, Search, StoreError, check_k


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
    # Set from the collection, not by consumers: the most photos a product has (above 1, one
    # hit per product, its best photo), and products left out (the query's own).
    photos: int = 1
    leave_out: tuple[str, ...] = ()
    # Also the collection's: a scan of the filter's matches, where the filter names a value
    # its graph answers badly (search/filter_check.py).
    scan: bool = False

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
    def grouped(self) -> bool:
        return self.photos > 1

    def payload_keys(self) -> tuple[str, ...]:
        """The payload fields :meth:`finish` reads: a caller wanting no others asks for these
        alone (a hit's whole payload costs about a third of a batched self-query)."""
        keys = [PRODUCT, "item_id"] if self.grouped else []
        keys += [self.diversity_key] if self.max_per_label is not None else []
        keys += [self.boost.key] if self.boost is not None else []
        return tuple(dict.fromkeys(keys))

    @property
    def _reranked(self) -> bool:
        """Whether hits are re-ranked or dropped here, so the store pages nothing itself."""
        return self.boost is not None or self.dedup is not None or self.grouped

    @property
    def fetch(self) -> int:
        """How many hits to ask for: more than ``k`` when some will be capped or collapsed
        away, and a window ten times the page when a boost re-ranks them (offset applied
        after it). Grouped, ``photos`` hits per product asked for are enough to hold that many
        products even when every one shows with all its photos."""
        widened = self.boost is not None or self.dedup is not None or self.max_per_label
        if self.grouped:
            products = self.offset + self.k + len(self.leave_out)
            return min(MAX_K, products * self.photos * (10 if widened else 1))
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
            scan=self.scan,
            with_vectors=self.dedup is not None,
            mmr=mmr,
        )

    def finish(self, hits: list[Hit]) -> list[Hit]:
        """Boost, collapse near-duplicates, page and cap what the store returned."""
        if self.boost is not None:
            hits = self.boost.apply(hits)
        if self.grouped:
            hits = best_photos(hits, self.leave_out)
        if self.dedup is not None:
            hits = collapse(hits, self.dedup)
        if self._reranked:
            hits = hits[self.offset :]
        return _diversify(hits, self)


def best_photos(hits: list[Hit], leave_out: Sequence[str] = ()) -> list[Hit]:
    """One hit per product, its best-scoring photo, products ``leave_out`` dropped."""
    seen = set(leave_out)
    kept = []
    for h in hits:
        product = product_of(h.payload)
        if product not in seen:
            seen.add(product)
            kept.append(h)
    return kept


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
