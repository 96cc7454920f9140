"""One export of a collection's neighbour lists: in full, or brought up to date from an earlier
export of the same spec when the collection it was made from still exists."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from infra.store.base import Hit, PointBatch, StoreError
from infra.store.protocol import VectorStore
from search import products
from search.export import Exported, ExportSpec, check_spec, header, item_of, neighbour_lists
from search.export_delta import changes, digests, fingerprint, repair, stale_lists
from search.export_file import (
    Digests,
    TableWriter,
    file_metadata,
    read_digests,
    read_lists,
    write_extra,
)
from search.metadata import read_meta
from search.selfquery import BATCH

Progress = Callable[[int], None]  # told how many lists were written since it was last told


def export_neighbours(
    store: VectorStore,
    name: str,
    spec: ExportSpec,
    out: Path,
    formats: Sequence[str] = (),
    previous: Path | None = None,
    progress: Progress | None = None,
) -> Exported:
    """Write the neighbour lists of every item of ``name`` (a collection or alias) to ``out``;
    ``previous``, an earlier export, is updated rather than recomputed where it can be."""
    start = time.perf_counter()
    collection = store.resolve(name)
    meta = read_meta(store, collection)
    check_spec(store, collection, spec, meta)
    spec = dataclasses.replace(spec, opts=products.grouped(spec.opts, meta))
    base = _usable(store, spec, previous, collection)
    made = header(collection, meta, spec, previous=base)
    repaired = 0
    with TableWriter(out, made, spec.opts.k, spec.reserve) as writer:
        pages: Iterable[PointBatch]
        if base is None or previous is None:
            pages = _fingerprinted(store.points(collection, BATCH), writer)
        else:
            ids, repaired = _keep_unchanged(store, base, collection, spec, previous, writer)
            pages = store.points(collection, BATCH, ids=ids)
        done = 0
        for _, item, hits in neighbour_lists(store, collection, spec, pages, meta):
            writer.add(item, *_columns(hits))
            done += 1
            if progress is not None and done % 256 == 0:
                progress(256)
        if progress is not None:
            progress(done % 256)
    extra = write_extra(out, formats)
    seconds = time.perf_counter() - start
    rows = writer.rows
    return Exported(out, collection, writer.items, rows, seconds, done, repaired, base, extra)


def _fingerprinted(pages: Iterable[PointBatch], writer: TableWriter) -> Iterator[PointBatch]:
    """``pages`` as they come, each point's digest written on the way: the state of the
    collection the lists are computed from, which the next update compares with."""
    for page in pages:
        digests: Digests = {}
        fingerprint(page, digests)
        writer.add_points(digests)
        yield page


def _columns(hits: list[Hit]) -> tuple[list[str], list[float]]:
    return [item_of(h.id, h.payload) for h in hits], [h.score for h in hits]


def _usable(
    store: VectorStore, spec: ExportSpec, previous: Path | None, collection: str
) -> str | None:
    """The collection an earlier export was made from, when that export can be brought up to
    date: it is readable, of the same spec, and its collection is still stored. One made from
    this very collection, written to in place since, can be only where the export recorded
    the points it saw."""
    if previous is None or not previous.is_file():
        return None
    try:
        made = file_metadata(previous)
    except (OSError, pa.ArrowException):
        return None
    base = made.get("collection")
    if made.get("spec") != spec.record() or not isinstance(base, str):
        return None
    if base == collection and read_digests(previous) is None:
        return None
    return base if store.has_collection(base) else None


def _keep_unchanged(
    store: VectorStore,
    old: str,
    new: str,
    spec: ExportSpec,
    previous: Path,
    writer: TableWriter,
) -> tuple[list[str], int]:
    """Copy the lists no change can reach into ``writer``, and those the reserve repairs, and
    the points of ``new``; the point ids left to compute, and how many lists were repaired."""
    table, reserved = read_lists(previous)
    # What the previous lists were computed from: recorded with them, else read from ``old``.
    before = read_digests(previous)
    after = digests(store, new)
    found = changes(digests(store, old) if before is None else before, after)
    stale, entered = stale_lists(store, new, spec, table, found, reserved)
    dropped = stale | {found.items[p] for p in found.removed}
    repaired = 0
    if reserved:
        keep = writer.k + spec.reserve
        kept, repaired, short = repair(table, dropped, found, entered, spec.opts.k, keep)
        stale |= short
    else:
        out = pc.is_in(table.column("item_id"), pa.array(sorted(dropped), pa.string()))
        kept = table.filter(pc.invert(out))
    writer.add_rows(kept)
    writer.add_points(after)
    return [found.points[i] for i in sorted(stale) if i in found.points], repaired


def default_path(exports_dir: Path, collection: str) -> Path:
    """Where a collection's export lives unless told otherwise: beside the others."""
    return exports_dir / f"{collection}.parquet"


def check_out(out: Path) -> Path:
    if out.suffix != ".parquet":
        raise StoreError(
            f"the export is a Parquet file: name it .parquet, not {out.name!r} "
            "(--format csv or jsonl adds those beside it)."
        )
    return out
