"""Products with several photos: which photos belong to one product, and how many at most.

A catalog row is a photo (one point, with its own id, file and payload); photos that share a
``product_id`` are one product. A catalog where every product has one photo writes no
``product_id`` at all, so its collections are what they were before products existed; one
where some product has several writes it on every photo (a lone photo's product is itself), and
its collection records the most photos any product has, which bounds how many hits a query
must fetch to answer ``k`` products (``search.options``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

PRODUCT = "product_id"


class _Photo(Protocol):
    @property
    def item_id(self) -> str: ...

    @property
    def attrs(self) -> Any: ...


P = TypeVar("P", bound=_Photo)


def product_of(payload: dict[str, Any]) -> str:
    """The product a stored photo belongs to (a collection without products: the item)."""
    return str(payload.get(PRODUCT) or payload.get("item_id"))


def photos_per_product(photos: Iterable[_Photo]) -> Counter[str]:
    return Counter(str(p.attrs.get(PRODUCT) or p.item_id) for p in photos)


def assign_products(photos: list[P]) -> list[P]:
    """Every photo named by its product when some product has several photos; else none is
    (the product field a manifest gave is dropped, so nothing changes for one-photo catalogs)."""
    counts = photos_per_product(photos)
    several = bool(counts) and max(counts.values()) > 1
    out = []
    for p in photos:
        attrs = {k: v for k, v in p.attrs.items() if k != PRODUCT}
        if several:
            attrs[PRODUCT] = str(p.attrs.get(PRODUCT) or p.item_id)
        out.append(replace(p, attrs=attrs))  # type: ignore[type-var]
    return out
