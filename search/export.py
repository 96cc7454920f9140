"""Every item's look-alikes as a table, the batch job's product for shops: ``item_id, rank,
neighbour_id, score``, streamed into Parquet (optionally CSV or JSON Lines beside it) with the
collection and model in the file's metadata. The lists are the live queries' answers: the same
:class:`QueryOptions` (filter, dedup, per-label cap) finished the same way, asked by the batched
self-query runner, so memory holds one batch of answers whatever the catalog's size."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from catalogs.products import product_of
from infra.store.base import Condition, Hit, StoreError
from infra.store.protocol import VectorStore
from search.filter_check import matches, served_right
from search.filters import check_filters, fields_of
from search.metadata import CollectionMeta
from search.options import QueryOptions
from search.selfquery import BATCH, chunks

SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("rank", pa.int32()),
        ("neighbour_id", pa.string()),
        ("score", pa.float32()),
    ]
)
FORMATS = ("parquet", "csv", "jsonl")
ROW_GROUP = 100_000  # rows buffered before they are written: memory stays flat


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
    ids: Sequence[str],
    meta: CollectionMeta | None = None,
) -> Iterator[tuple[str, str, list[Hit]]]:
    """(point id, item id, finished hits) for each of ``ids``, a batch a store call per group
    of ``same`` values in it (and per beam, where ``meta`` records weak filter values)."""
    counted: dict[tuple[Condition, ...], int] = {}  # counts of a collection without a digest
    for chunk in chunks(ids, BATCH):
        payloads = store.payloads(name, chunk)
        for values, members in by_same(spec, chunk, payloads).items():
            if None in values:  # an item without the field has no neighbour sharing it
                for pid in members:
                    yield pid, item_of(pid, payloads[pid]), []
                continue
            opts = spec.for_values(values)
            beams: dict[QueryOptions, list[str]] = {}
            for pid in members:
                served = _served(store, name, opts, meta, payloads[pid], counted)
                beams.setdefault(served, []).append(pid)
            for served, group in beams.items():
                # The payload fields finish and the file read, no others.
                wanted = ("item_id", *served.payload_keys())
                asked = dataclasses.replace(_own_left_out(served, "").search(), with_payload=wanted)
                found = store.query_points(name, group, asked)
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
    if served.exact:
        return dataclasses.replace(opts, exact=True)
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


class TableWriter:
    """Rows streamed into a Parquet file under a temporary name, renamed when complete: a killed
    export leaves the previous file, never half of a new one."""

    def __init__(self, path: Path, metadata: dict[str, Any]) -> None:
        if path.suffix != ".parquet":
            raise StoreError(f"write the export to a .parquet file, not {path.name!r}.")
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        self.rows = 0
        self.items = 0
        self._meta = {f"lookalike.{k}": json.dumps(v) for k, v in metadata.items()}
        self._columns: dict[str, list[Any]] = {f: [] for f in SCHEMA.names}
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(self.partial, SCHEMA.with_metadata(self._meta))
        return self

    def add(self, item_id: str, hits: Sequence[Hit]) -> None:
        c = self._columns
        for rank, h in enumerate(hits, start=1):
            c["item_id"].append(item_id)
            c["rank"].append(rank)
            c["neighbour_id"].append(item_of(h.id, h.payload))
            c["score"].append(h.score)
        self.items += 1
        if len(c["rank"]) >= ROW_GROUP:
            self._flush()

    def add_rows(self, table: pa.Table, items: int) -> None:
        """Rows kept from another export, as they are, holding the lists of ``items`` items."""
        self._flush()
        assert self._writer is not None
        for start in range(0, table.num_rows, ROW_GROUP):
            self._writer.write_table(table.slice(start, ROW_GROUP).select(SCHEMA.names))
        self.rows += table.num_rows
        self.items += items

    def _flush(self) -> None:
        if not self._columns["rank"]:
            return
        assert self._writer is not None
        batch = pa.table(self._columns, schema=SCHEMA)
        self._writer.write_table(batch)
        self.rows += batch.num_rows
        self._columns = {f: [] for f in SCHEMA.names}

    def __exit__(self, exc_type: object, *exc: object) -> None:
        assert self._writer is not None
        try:
            if exc_type is None:
                self._flush()
        finally:
            self._writer.close()
        if exc_type is None:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


def file_metadata(path: Path) -> dict[str, Any]:
    """What an export recorded about itself (collection, model, spec...)."""
    raw = pq.read_schema(path).metadata or {}
    prefix = b"lookalike."
    return {
        k[len(prefix) :].decode(): json.loads(v) for k, v in raw.items() if k.startswith(prefix)
    }


def header(collection: str, meta: CollectionMeta, spec: ExportSpec, **more: Any) -> dict[str, Any]:
    return {
        "collection": collection,
        "model_version": meta.model_version,
        "dataset": meta.dataset,
        "spec": spec.record(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **more,
    }


def write_extra(path: Path, formats: Sequence[str]) -> tuple[Path, ...]:
    """The Parquet file's rows as CSV and/or JSON Lines beside it, row group by row group."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise StoreError(f"unknown export format {unknown[0]!r}; choose from {', '.join(FORMATS)}.")
    out = []
    for fmt in dict.fromkeys(f for f in formats if f != "parquet"):
        target = path.with_suffix(f".{fmt}")
        partial = target.with_name(f".{target.name}.partial")
        source = pq.ParquetFile(path)
        with partial.open("wb") as f:
            for n in range(source.num_row_groups):
                table = source.read_row_group(n)
                if fmt == "csv":
                    options = pacsv.WriteOptions(include_header=n == 0)
                    pacsv.write_csv(table, f, write_options=options)
                else:
                    f.write("".join(json.dumps(r) + "\n" for r in table.to_pylist()).encode())
        os.replace(partial, target)
        out.append(target)
    return tuple(out)


def read_export(path: Path) -> pa.Table:
    """A whole export file; a file that is not one is named."""
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path} is not a readable export ({exc}): export again.") from None
