"""Every item's look-alikes as a table, the batch job's product for shops: ``item_id, rank,
neighbour_id, score``, streamed into Parquet (optionally CSV or JSON Lines beside it) with the
collection and model in the file's metadata. The lists are the live queries' answers: the same
:class:`QueryOptions` (filter, dedup, per-label cap) finished the same way, asked by the batched
self-query runner, so memory holds one batch of answers whatever the catalog's size."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalogs.products import product_of
from infra.store.base import Condition, Hit, PointBatch, StoreError
from infra.store.protocol import VectorStore
from search.filter_check import matches, served_right
from search.filters import check_filters, fields_of
from search.metadata import CollectionMeta
from search.options import QueryOptions

RESERVE = 3  # entries kept past k where a list may take them (k 20 -> 23: +1-3% export time)


@dataclass(frozen=True)
class ExportSpec:
    """What every list is: the query ``opts`` (k, filter, dedup, cap), and the payload fields
    a neighbour must share with its item (``same``: e.g. the split)."""

    opts: QueryOptions
    same: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.opts.offset or self.opts.boost or self.opts.diversity != "none":
            raise StoreError("an export takes k, a filter, dedup and the per-label cap only.")

    def record(self) -> dict[str, Any]:
        """The spec as JSON values: two exports of equal records hold comparable lists."""
        o = self.opts
        return {
            "k": o.k,
            "where": [dataclasses.asdict(c) for c in o.where],
            "same": list(self.same),
            "dedup": o.dedup,
            "max_per_label": o.max_per_label,
            "diversity_key": o.diversity_key,
            "hnsw_ef": o.hnsw_ef,
        } | ({"photos_per_product": o.photos} if o.grouped else {})

    @property
    def reserve(self) -> int:
        """Entries kept past ``k`` in each list, for an update to take when some leave it: only
        where a list is the plain top-k. Dedup, the cap and products drop hits that a removal
        can bring back; a filter or ``same`` decides which new items may join a list."""
        o = self.opts
        plain = not (o.where or self.same or o.dedup is not None or o.max_per_label or o.grouped)
        return RESERVE if plain else 0

    def for_values(self, values: tuple[Any, ...]) -> QueryOptions:
        """The options of an item whose ``same`` fields hold ``values``."""
        same = tuple(Condition.equals(k, v) for k, v in zip(self.same, values, strict=True))
        return dataclasses.replace(self.opts, where=(*self.opts.where, *same))


@dataclass(frozen=True)
class Exported:
    """What an export wrote."""

    path: Path
    collection: str
    items: int
    rows: int
    seconds: float
    computed: int  # lists asked of the index: all of them, or an incremental run's share
    repaired: int = 0  # lists an incremental run updated from the reserve, without the index
    previous: str | None = None  # the collection whose export an incremental run updated
    extra: tuple[Path, ...] = ()

    def record(self) -> dict[str, Any]:
        """What the collection's metadata keeps of it (``index ls`` shows it)."""
        return {
            "path": str(self.path),
            "items": self.items,
            "rows": self.rows,
            "seconds": round(self.seconds, 2),
            "computed": self.computed,
            "repaired": self.repaired,
            "previous": self.previous,
        }


def check_spec(store: VectorStore, name: str, spec: ExportSpec, meta: CollectionMeta) -> None:
    """Refuse a filter or a ``same`` field the collection's payload lacks, in one sentence."""
    fields = fields_of(store, name, meta)
    check_filters(spec.opts.where, fields)
    missing = [f for f in spec.same if fields is not None and f not in fields]
    if missing:
        known = ", ".join(sorted(fields or {}))
        raise StoreError(f"no payload field {missing[0]!r} to match on (same); fields: {known}.")


def neighbour_lists(
    store: VectorStore,
    name: str,
    spec: ExportSpec,
    pages: Iterable[PointBatch],
    meta: CollectionMeta | None = None,
) -> Iterator[tuple[str, str, list[Hit]]]:
    """(point id, item id, finished hits) for each point of ``pages`` (stored points, as
    :meth:`VectorStore.points` reads them), a store call per group of ``same`` values in a page
    (and per beam, where ``meta`` records weak filter values)."""
    counted: dict[tuple[Condition, ...], int] = {}  # counts of a collection without a digest
    # Every payload names its item: the hits' point ids are not needed (nor converted).
    named = meta is not None and "item_id" in (meta.fields or {})
    for page in pages:
        payloads = dict(zip(page.ids, page.payloads, strict=True))
        row = {pid: n for n, pid in enumerate(page.ids)}
        for values, members in by_same(spec, page.ids, payloads).items():
            if None in values:  # an item without the field has no neighbour sharing it
                for pid in members:
                    yield pid, item_of(pid, payloads[pid]), []
                continue
            opts = spec.for_values(values)
            opts = dataclasses.replace(opts, k=opts.k + spec.reserve)
            beams: dict[QueryOptions, list[str]] = {}
            for pid in members:
                served = _served(store, name, opts, meta, payloads[pid], counted)
                beams.setdefault(served, []).append(pid)
            for served, group in beams.items():
                # The payload fields finish and the file read, no others.
                wanted = ("item_id", *served.payload_keys())
                asked = dataclasses.replace(
                    _own_left_out(served, "").search(), with_payload=wanted, with_ids=not named
                )
                vectors = page.vectors[[row[pid] for pid in group]]
                found = store.query_points(name, group, asked, vectors)
                for pid, hits in zip(group, found, strict=True):
                    finished = _own_left_out(served, product_of(payloads[pid])).finish(hits)
                    yield pid, item_of(pid, payloads[pid]), finished


def _served(
    store: VectorStore,
    name: str,
    opts: QueryOptions,
    meta: CollectionMeta | None,
    payload: dict[str, Any],
    counted: dict[tuple[Condition, ...], int],
) -> QueryOptions:
    """An item's options as the live queries serve them (search/filter_check.py): the export's
    beam is its own choice of speed, not a consumer's, so a weak filter value still widens it."""
    if meta is None or not meta.weak_filters:
        return opts
    held = meta
    served = served_right(
        dataclasses.replace(opts, hnsw_ef=None),
        meta,
        lambda: payload,
        lambda: matches(store, name, held, opts.where, counted),
    )
    if served.scan:
        return dataclasses.replace(opts, scan=True)
    if served.hnsw_ef is None:
        return opts
    return dataclasses.replace(opts, hnsw_ef=max(served.hnsw_ef, opts.hnsw_ef or 0))


def _own_left_out(opts: QueryOptions, product: str) -> QueryOptions:
    """Grouped by product, an item's list leaves its own product out (else: ``opts``)."""
    return dataclasses.replace(opts, leave_out=(product,)) if opts.grouped else opts


def by_same(
    spec: ExportSpec,
    ids: Sequence[str],
    payloads: dict[str, dict[str, Any]],
    into: dict[tuple[Any, ...], list[str]] | None = None,
) -> dict[tuple[Any, ...], list[str]]:
    """``ids`` grouped by the values of their ``same`` fields (added to ``into``, if given)."""
    groups = {} if into is None else into
    for pid in ids:
        groups.setdefault(tuple(payloads[pid].get(f) for f in spec.same), []).append(pid)
    return groups


def item_of(pid: str, payload: dict[str, Any]) -> str:
    return str(payload.get("item_id", pid))


def header(collection: str, meta: CollectionMeta, spec: ExportSpec, **more: Any) -> dict[str, Any]:
    return {
        "collection": collection,
        "model_version": meta.model_version,
        "dataset": meta.dataset,
        "spec": spec.record(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **more,
    }
