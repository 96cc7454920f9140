"""What the gallery shows, as plain data: the page's template only lays it out.

One request shows one view: a browsable sample (filtered by any payload field), the items like
one item, like an uploaded photo, or like a person's likes and unlike their dislikes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_origin
from urllib.parse import urlencode

import numpy as np
from pydantic import Field

from app.api.service import Served, Service
from app.queries import resolve
from catalogs.products import PRODUCT
from infra.store import Condition, Hit, VectorStore
from search import products
from search.metadata import CollectionMeta
from search.options import best_photos
from search.query import ByExamples, ByItem, Strategy, ask, point_ids, sample
from search.request import QueryArgs

Mode = Literal["browse", "similar", "image", "recommend"]
METRICS = (("precision@1", "precision_at_1"), ("recall@10", "recall_at_10"), ("MAP@R", "map_at_r"))


class GalleryArgs(QueryArgs):
    """The page's state, all in its address, so every view can be bookmarked and shared: every
    query option (the same definition as the API's and the command line's), and what the page
    is showing."""

    k: int = Field(default=12, ge=1, le=100, description="How many items to show.")
    item: str | None = Field(default=None, description="Show the items like this one.")
    box: str | None = Field(
        default=None, description="Only a region of the item's picture: x0,y0,x1,y1 fractions."
    )
    like: list[str] = Field(default_factory=list, description="Items the person liked.")
    dislike: list[str] = Field(default_factory=list, description="Items the person disliked.")
    strategy: Strategy = Field(default="average_vector", description="How to recommend.")
    shuffle: int = Field(default=0, ge=0, description="Another sample of the browse view.")

    def query_args(self) -> QueryArgs:
        return QueryArgs(**self.model_dump(include=set(QueryArgs.model_fields)))

    @classmethod
    def list_fields(cls) -> set[str]:
        return {n for n, f in cls.model_fields.items() if get_origin(f.annotation) is list}

    @classmethod
    def help(cls) -> dict[str, str]:
        """Each option's help, for the form's labels and titles."""
        return {n: f.description or "" for n, f in cls.model_fields.items()}

    def url(self, **changes: Any) -> str:
        """This page's address with some of its state changed (None drops a setting); options
        at their default are left out."""
        state = {**self.model_dump(), **changes}
        fields = type(self).model_fields
        pairs = [
            (k, v) for k, v in state.items() if v not in (None, "", []) and v != fields[k].default
        ]
        return "/?" + urlencode(pairs, doseq=True)

    def toggled(self, kind: Literal["like", "dislike"], item_id: str) -> str:
        """The address with ``item_id`` added to (or removed from) the likes or dislikes."""
        chosen = list(getattr(self, kind))
        other = "dislike" if kind == "like" else "like"
        rest = [i for i in getattr(self, other) if i != item_id]
        chosen = [i for i in chosen if i != item_id] if item_id in chosen else [*chosen, item_id]
        return self.url(**{kind: chosen, other: rest, "item": None, "box": None})


@dataclass(frozen=True)
class Card:
    item_id: str
    label: str
    score: float | None
    details: str  # split and the attributes worth a glance
    why_with: str | None = None  # the item its "why?" explains it against
    product: str | None = None  # where products have several photos: this photo's product

    @property
    def asks(self) -> str:
        """What its links ask about: its product, or the item itself."""
        return self.product or self.item_id


@dataclass(frozen=True)
class Glance:
    """The index at a glance."""

    served: Served
    metrics: list[tuple[str, float | None, float | None]]  # name, learned, raw pixels
    links: list[tuple[str, str]]


@dataclass
class View:
    mode: Mode
    title: str
    cards: list[Card] = field(default_factory=list)
    query: Card | None = None
    error: str | None = None


def card(hit: Hit, scored: bool) -> Card:
    p = hit.payload
    item_id = str(p.get("item_id", hit.id))
    attrs = [str(p["split"])] if p.get("split") else []
    attrs += [f"{k} {p[k]}" for k in ("season", "colour", "color", "brand") if p.get(k)]
    label = str(p.get("label_name") or p.get("label") or "unlabelled")
    product = str(p[PRODUCT]) if p.get(PRODUCT) else None
    return Card(item_id, label, hit.score if scored else None, ", ".join(attrs), product=product)


def cards(hits: Sequence[Hit], scored: bool = True) -> list[Card]:
    return [card(h, scored) for h in hits]


def glance(served: Served, links: list[tuple[str, str]]) -> Glance:
    recorded = served.meta.metrics
    rows = [
        (name, recorded.get(key), recorded.get(f"pixels_{key}"))
        for name, key in METRICS
        if key in recorded
    ]
    return Glance(served, rows, links)


def build(service: Service, served: Served, args: GalleryArgs) -> View:
    """The view the page's state asks for, answered by ``served``."""
    opts = resolve(args.query_args(), service.settings, served.meta)
    name = served.collection
    if args.like:
        examples = ByExamples(tuple(args.like), tuple(args.dislike), args.strategy)
        hits = service.run(lambda s: ask(s, name, examples, opts, served.meta))
        liked = service.run(lambda s: nearest_liked(s, name, args.like, hits, served.meta))
        shown = [replace(c, why_with=w) for c, w in zip(cards(hits), liked, strict=True)]
        return View("recommend", f"Recommended for {len(args.like)} liked", shown)
    if args.item:
        item = args.item
        hits = service.run(lambda s: ask(s, name, ByItem(item), opts, served.meta))
        query = service.run(lambda s: sample_of(s, name, item, served.meta))
        if served.meta.photos_per_product > 1:  # explained against the asking product's photo
            near = service.run(lambda s: nearest_liked(s, name, [item], hits, served.meta))
        else:
            near = [item] * len(hits)
        shown = [replace(c, why_with=w) for c, w in zip(cards(hits), near, strict=True)]
        return View("similar", f"More like {item}", shown, query)
    picked = service.run(lambda s: browsed(s, name, opts.where, args.k, args.shuffle, served.meta))
    return View("browse", "Browse", cards(picked, scored=False))


def browsed(
    store: VectorStore,
    name: str,
    where: Sequence[Condition],
    n: int,
    seed: int,
    meta: CollectionMeta,
) -> list[Hit]:
    """A sample to browse: one photo a product."""
    if meta.photos_per_product <= 1:
        return sample(store, name, where, n, seed)
    return best_photos(sample(store, name, where, n * meta.photos_per_product, seed))[:n]


def photos_of(
    store: VectorStore, name: str, ids: Sequence[str], meta: CollectionMeta
) -> list[tuple[str, str]]:
    """The point ids and item ids of the photos ``ids`` name (a product names all of its)."""
    if meta.photos_per_product <= 1:
        return list(zip(point_ids(store, name, ids, meta), ids, strict=True))
    pids = [p for n in products.named(store, name, ids, meta) for p in n.points]
    payloads = store.payloads(name, pids)
    return [(p, str(payloads[p]["item_id"])) for p in pids]


def nearest_liked(
    store: VectorStore, name: str, liked: Sequence[str], hits: Sequence[Hit], meta: CollectionMeta
) -> list[str]:
    """For each recommended hit, the liked item (photo) it is most like: what its "why?"
    explains."""
    photos = photos_of(store, name, liked, meta)
    pids = [p for p, _ in photos]
    vectors = store.vectors(name, [*pids, *(h.id for h in hits)])
    mine = np.stack([vectors[p] for p in pids])
    return [photos[int(np.argmax(mine @ vectors[h.id]))][1] for h in hits]


async def region_view(service: Service, args: GalleryArgs, item: str, box: str) -> View:
    """The items like a region of ``item``'s picture (its model runs in the photo pool)."""
    from app.api.answers import hits_for
    from app.queries import Region
    from model.images import Box

    served, hits = await hits_for(service, args.query_args(), Region(item, Box.parse(box)))
    query = service.run(lambda s: sample_of(s, served.collection, item, served.meta))
    return View("similar", f"More like a region of {item}", cards(hits), query)


def sample_of(store: VectorStore, name: str, item_id: str, meta: CollectionMeta) -> Card:
    """The card of the item asked about (a product: its first photo)."""
    pid = photos_of(store, name, [item_id], meta)[0][0]
    return card(Hit(pid, 1.0, store.payloads(name, [pid])[pid]), scored=False)
