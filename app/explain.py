"""Explaining a match, for the API, the gallery and the command line alike: find the two items
(or take a photo), read their pixels as the collection's model was fed them, split the score
with that model (:mod:`model.explain`), and draw it (:mod:`model.overlay`).

The store's part (:func:`find_pair`) and the model's part (:func:`explain`) are separate, so
the API runs the first under the store's lock and the second in its photo pool."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.store import Condition, VectorStore
from search.metadata import CollectionMeta
from search.query import item_payloads

if TYPE_CHECKING:
    import torch

    from model.backbones import Embedder
    from model.explain import Method, PairMaps


@dataclass(frozen=True)
class Explanation:
    """A pair's maps, with the pixels they were computed on (what the overlay draws)."""

    maps: PairMaps
    query_id: str | None  # None: an uploaded photo
    hit_id: str
    query_pixels: torch.Tensor
    hit_pixels: torch.Tensor

    def png(self) -> bytes:
        from model.overlay import overlay_png

        return overlay_png(self.maps, self.query_pixels, self.hit_pixels)

    def body(self) -> dict[str, Any]:
        """What the API answers (beside the collection and model version)."""
        from model.explain import TOP_SHARE, top_share

        m = self.maps

        def side(item_id: str | None, grid: Any) -> dict[str, Any]:
            return {"item_id": item_id, "map": grid.tolist(), "top_share": top_share(grid)}

        return {
            "method": m.method,
            "score": m.score,
            "grid": list(m.grid),
            "top_fraction": TOP_SHARE,
            "query": side(self.query_id, m.query),
            "hit": side(self.hit_id, m.hit),
        }

    def summary(self) -> str:
        from model.explain import TOP_SHARE, top_share

        share = top_share(self.maps.query)
        return (
            f"score {self.maps.score:.4f} ({self.maps.method} map, {self.maps.grid[0]}x"
            f"{self.maps.grid[1]} regions); the top {TOP_SHARE:.0%} of the query's regions "
            f"carry {share:.0%} of it"
        )


def find_pair(
    store: VectorStore, collection: str, pair: str
) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """``ITEM/OTHER`` as two item ids and their payloads. Item ids may hold slashes, so every
    split is tried and the one naming two stored items taken; none: the unknown id is named."""
    from infra.store import NotFoundError

    cuts = [i for i, ch in enumerate(pair) if ch == "/" and 0 < i < len(pair) - 1]
    splits = [(pair[:i], pair[i + 1 :]) for i in cuts]
    if not splits:
        raise NotFoundError(f"{pair!r} is one id: ask for ITEM/OTHER, the two items to compare.")
    if len(splits) == 1:
        return _with_payloads(store, collection, splits[0])  # an unknown id: named
    names = sorted({name for s in splits for name in s})
    found = store.find_ids(collection, [Condition("item_id", any_of=tuple(names))], len(names))
    stored = {str(p["item_id"]) for p in store.payloads(collection, found).values()}
    whole = [s for s in splits if s[0] in stored and s[1] in stored]
    if len(whole) != 1:
        what = "no two stored items" if not whole else f"{len(whole)} pairs of stored items"
        raise NotFoundError(
            f"{pair!r} names {what}: ask for ITEM/OTHER with two item ids of {collection!r}."
        )
    return _with_payloads(store, collection, whole[0])


def _with_payloads(
    store: VectorStore, collection: str, ids: tuple[str, str]
) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    query, hit = item_payloads(store, collection, list(ids))
    return ids[0], ids[1], query, hit


def explain(
    model: Embedder,
    meta: CollectionMeta,
    query: dict[str, Any] | bytes | Path,
    hit: dict[str, Any],
    method: Method = "exact",
) -> Explanation:
    """The maps of ``query`` (a stored item's payload, or a photo) against the stored ``hit``,
    computed with ``model``, the one that built the collection ``meta`` describes."""
    from app.queries import preprocess
    from catalogs.scan import stored_pixels
    from model.explain import explain_pair

    def pixels(payload: dict[str, Any]) -> torch.Tensor:
        return stored_pixels(meta.kind, meta.root, payload, model.image_size, model.channels)

    if isinstance(query, dict):
        q_pixels, query_id = pixels(query), str(query.get("item_id"))
    else:
        q_pixels, query_id = preprocess(model, meta.kind, query), None
    h_pixels = pixels(hit)
    maps = explain_pair(model, q_pixels, h_pixels, method)
    return Explanation(maps, query_id, str(hit.get("item_id")), q_pixels, h_pixels)
