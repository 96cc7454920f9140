"""Our payload conditions as the parts every Qdrant filter is made of, for either backend.

Each backend turns these parts into its own types (``qdrant_edge`` or ``qdrant_client``
models) with a small ``make`` of its own, so the rules live once and the embedded store never
imports qdrant-client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from infra.store.base import Condition

F = TypeVar("F")


@dataclass(frozen=True)
class Part:
    """One filter condition: a match on ``values`` or a numeric range on ``key``; or, with
    ``key`` None, a set of point ids."""

    key: str | None
    values: tuple[Any, ...] = ()
    range: tuple[float | None, float | None, float | None, float | None] | None = None


def parts(
    where: Sequence[Condition], exclude_ids: Sequence[str] = ()
) -> tuple[list[Part], list[Part]]:
    """``(must, must_not)``: a ``none_of`` and the excluded ids go in ``must_not``."""
    must: list[Part] = []
    must_not: list[Part] = []
    for c in where:
        if c.any_of is not None:
            must.append(Part(c.key, tuple(c.any_of)))
        if c.none_of:
            must_not.append(Part(c.key, tuple(c.none_of)))
        if c.is_range:
            must.append(Part(c.key, range=(c.gte, c.gt, c.lte, c.lt)))
    if exclude_ids:
        must_not.append(Part(None, tuple(exclude_ids)))
    return must, must_not


def build(
    where: Sequence[Condition],
    exclude_ids: Sequence[str],
    make: Callable[[Part], Any],
    combine: Callable[[list[Any] | None, list[Any] | None], F],
) -> F | None:
    """A backend's filter: ``make`` turns one part into its condition type, ``combine`` makes
    the filter of the must and must-not lists; None when there is nothing to filter."""
    must, must_not = parts(where, exclude_ids)
    if not must and not must_not:
        return None
    return combine([make(p) for p in must] or None, [make(p) for p in must_not] or None)
