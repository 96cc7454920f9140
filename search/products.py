"""Queries on a collection whose products have several photos (``catalogs.products``).

Each photo is a point; answers hold one hit per product, its best photo (``QueryOptions``
groups them). An id in a query names a product (then all its photos ask together: "more like
this product") or one photo (that photo asks); either way the whole product is left out of its
own answer, since its other photos would otherwise come first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from catalogs.products import PRODUCT, product_of
from infra.store.base import MAX_K, Condition, Hit, NotFoundError
from infra.store.protocol import VectorStore
from search.metadata import CollectionMeta
from search.options import QueryOptions


@dataclass(frozen=True)
class Named:
    """What one id in a query names: the photos (point ids) that ask, and their product."""

    points: tuple[str, ...]
    product: str


def grouped(opts: QueryOptions, meta: CollectionMeta) -> QueryOptions:
    """``opts`` answering one hit per product, where the collection's products have several
    photos (else ``opts`` itself: nothing to group)."""
    if meta.photos_per_product <= 1 or opts.photos == meta.photos_per_product:
        return opts
    return dataclasses.replace(opts, photos=meta.photos_per_product)


def leaving_out(opts: QueryOptions, products: Sequence[str]) -> QueryOptions:
    return dataclasses.replace(opts, leave_out=(*opts.leave_out, *products))


def named(store: VectorStore, name: str, ids: Sequence[str], meta: CollectionMeta) -> list[Named]:
    """What each of ``ids`` names, in order: a product id names all the product's photos
    (a product id wins where a photo has the same id), any other id one photo."""
    wanted = tuple(dict.fromkeys(ids))
    limit = min(MAX_K, len(wanted) * meta.photos_per_product)
    photos: dict[str, list[str]] = {}
    found = store.find_ids(name, [Condition(PRODUCT, any_of=wanted)], limit)
    for pid, payload in sorted(store.payloads(name, found).items()):
        photos.setdefault(product_of(payload), []).append(pid)
    single = tuple(i for i in wanted if i not in photos)
    by_photo: dict[str, tuple[str, str]] = {}
    if single:
        found = store.find_ids(name, [Condition("item_id", any_of=single)], len(single))
        for pid, payload in store.payloads(name, found).items():
            by_photo[str(payload["item_id"])] = (pid, product_of(payload))
    out = []
    for i in ids:
        if i in photos:
            out.append(Named(tuple(photos[i]), i))
        elif i in by_photo:
            out.append(Named((by_photo[i][0],), by_photo[i][1]))
        else:
            raise NotFoundError(
                f"unknown item id {i!r} in {name!r}: use a product id (payload field "
                f"{PRODUCT}) or a photo's id (payload field item_id)."
            )
    return out


def like(store: VectorStore, name: str, asking: Named, opts: QueryOptions) -> list[Hit]:
    """The products most like one product or photo, the product itself left out: a photo asks
    by its point; several photos ask by their mean (Qdrant's average-vector recommendation)."""
    opts = leaving_out(opts, [asking.product])
    if len(asking.points) == 1:
        hits = store.query_points(name, list(asking.points), opts.search())[0]
    else:
        points = list(asking.points)
        hits = store.recommend_points(name, points, [], opts.search(points), best_score=False)
    return opts.finish(hits)
