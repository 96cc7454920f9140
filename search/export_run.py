"""One export of a collection's neighbour lists: in full, or brought up to date from an earlier
export of the same spec when the collection it was made from still exists."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from infra.store.base import Hit, StoreError
from infra.store.protocol import VectorStore
from search import products
from search.export import Exported, ExportSpec, check_spec, header, item_of, neighbour_lists
from search.export_delta import changes, repair, stale_lists
from search.export_file import TableWriter, file_metadata, read_lists, write_extra
from search.metadata import read_meta
from search.selfquery import all_ids

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
    base = _usable(store, spec, previous)
    made = header(collection, meta, spec, previous=base)
    repaired = 0
    with TableWriter(out, made, spec.opts.k, spec.reserve) as writer:
        if base is None or previous is None:
            ids = all_ids(store, collection)
        else:
            ids, repaired = _keep_unchanged(store, base, collection, spec, previous, writer)
        done = 0
        for _, item, hits in neighbour_lists(store, collection, spec, ids, meta):
            writer.add(item, *_columns(hits))
            done += 1
            if progress is not None and done % 256 == 0:
                progress(256)
        if progress is not None:
            progress(done % 256)
    extra = write_extra(out, formats)
    seconds = time.perf_counter() - start
    return Exported(
        out, collection, writer.items, writer.rows, seconds, len(ids), repaired, base, extra
    )


def _columns(hits: list[Hit]) -> tuple[list[str], list[float]]:
    return [item_of(h.id, h.payload) for h in hits], [h.score for h in hits]


def _usable(store: VectorStore, spec: ExportSpec, previous: Path | None) -> str | None:
    """The collection an earlier export was made from, when that export can be brought up to
    date: it is readable, of the same spec, and its collection is still stored."""
    if previous is None or not previous.is_file():
        return None
    try:
        made = file_metadata(previous)
    except (OSError, pa.ArrowException):
        return None
    collection = made.get("collection")
    if made.get("spec") != spec.record() or not isinstance(collection, str):
        return None
    return collection if store.has_collection(collection) else None


def _keep_unchanged(
    store: VectorStore,
    old: str,
    new: str,
    spec: ExportSpec,
    previous: Path,
    writer: TableWriter,
) -> tuple[list[str], int]:
    """Copy the lists no change can reach into ``writer``, and those the reserve repairs; the
    point ids left to compute, and how many lists were repaired."""
    table, reserved = read_lists(previous)
    found = changes(store, old, new)
    stale, entered = stale_lists(store, new, spec, table, found, reserved)
    dropped = pa.array(sorted(stale | {found.items[p] for p in found.removed}), pa.string())
    kept = table.filter(pc.invert(pc.is_in(table.column("item_id"), dropped)))
    repaired = 0
    if reserved:
        kept, repaired, short = repair(kept, found, entered, spec.opts.k, writer.k + spec.reserve)
        stale |= short
    writer.add_rows(kept, len(pc.unique(kept.column("item_id"))))
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
