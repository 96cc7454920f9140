"""The export's files: the lists as Parquet rows (``item_id, rank, neighbour_id, score``),
streamed under a temporary name and renamed when complete, and CSV or JSON Lines beside them.

Where the spec allows (:attr:`search.export.ExportSpec.reserve`), each list's next few entries
are kept in a hidden file beside the export, ``.<name>.reserve.parquet``, same columns, ranks
after ``k``: an update that removes an entry from a list takes the next one from there instead
of asking the index again (search/export_delta.py); ``.<name>.points.parquet`` holds each
point's digest as the lists saw it, for the next update to find what changed. Consumers read the
export alone; the files beside it carry its ``export_id``, so another export's are never used."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from infra.store.base import StoreError

SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("rank", pa.int32()),
        ("neighbour_id", pa.string()),
        ("score", pa.float32()),
    ]
)
POINTS = pa.schema([("point_id", pa.string()), ("item_id", pa.string()), ("digest", pa.binary(16))])
FORMATS = ("parquet", "csv", "jsonl")
ROW_GROUP = 100_000  # rows buffered before they are written: memory stays flat


Digests = dict[str, tuple[str, bytes]]  # point id -> (item id, digest of vector and payload)


def reserve_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.reserve.parquet")


def points_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.points.parquet")


class _Sink:
    """One Parquet file written under a temporary name, its rows buffered a row group at a time."""

    def __init__(
        self, path: Path, meta: dict[bytes | str, bytes | str], schema: pa.Schema = SCHEMA
    ) -> None:
        self.path, self.schema = path, schema
        self.partial = path.with_name(f".{path.name}.partial")
        self.rows = 0
        self._columns: dict[str, list[Any]] = {f: [] for f in schema.names}
        self._writer = pq.ParquetWriter(self.partial, schema.with_metadata(meta))

    def add(self, **columns: Iterable[Any]) -> None:
        for name, values in columns.items():
            self._columns[name].extend(values)
        if len(self._columns[self.schema.names[0]]) >= ROW_GROUP:
            self.flush()

    def add_list(
        self, item_id: str, start: int, neighbours: Sequence[str], scores: Sequence[float]
    ) -> None:
        """One list's rows (SCHEMA), ranked from ``start``: the export's hot path."""
        c = self._columns
        c["item_id"].extend([item_id] * len(neighbours))
        c["rank"].extend(range(start, start + len(neighbours)))
        c["neighbour_id"].extend(neighbours)
        c["score"].extend(scores)
        if len(c["item_id"]) >= ROW_GROUP:
            self.flush()

    def add_table(self, table: pa.Table) -> None:
        self.flush()
        for start in range(0, table.num_rows, ROW_GROUP):
            self._writer.write_table(table.slice(start, ROW_GROUP).select(self.schema.names))
        self.rows += table.num_rows

    def flush(self) -> None:
        if not self._columns[self.schema.names[0]]:
            return
        batch = pa.table(self._columns, schema=self.schema)
        self._writer.write_table(batch)
        self.rows += batch.num_rows
        self._columns = {f: [] for f in self.schema.names}

    def close(self, keep: bool) -> None:
        try:
            if keep:
                self.flush()
        finally:
            self._writer.close()
        if keep:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


class TableWriter:
    """Each list's first ``k`` entries into the export, the rest into its reserve (when
    ``reserve``), and the points the lists were computed from into their own file, all under
    temporary names renamed when complete: a killed export leaves the previous files, never
    half of new ones."""

    def __init__(self, path: Path, metadata: dict[str, Any], k: int, reserve: int = 0) -> None:
        if path.suffix != ".parquet":
            raise StoreError(f"write the export to a .parquet file, not {path.name!r}.")
        self.path, self.k, self.reserve = path, k, reserve
        self.items = 0
        self._meta: dict[bytes | str, bytes | str] = {
            f"lookalike.{k}": json.dumps(v)
            for k, v in (metadata | {"export_id": uuid.uuid4().hex}).items()
        }
        self._main: _Sink | None = None
        self._extra: _Sink | None = None
        self._points: _Sink | None = None

    @property
    def rows(self) -> int:
        return self._main.rows if self._main is not None else 0

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._main = _Sink(self.path, self._meta)
        if self.reserve:
            self._extra = _Sink(reserve_path(self.path), self._meta)
        self._points = _Sink(points_path(self.path), self._meta, POINTS)
        return self

    def add(self, item_id: str, neighbours: Sequence[str], scores: Sequence[float]) -> None:
        """One item's list, best first: its first ``k`` entries exported, the rest reserved."""
        assert self._main is not None
        k = self.k
        self._main.add_list(item_id, 1, neighbours[:k], scores[:k])
        if self._extra is not None and len(neighbours) > k:
            self._extra.add_list(item_id, k + 1, neighbours[k:], scores[k:])
        self.items += 1

    def add_rows(self, table: pa.Table) -> None:
        """Whole lists kept from an earlier export (and its reserve)."""
        assert self._main is not None
        ranks = table.column("rank")
        self._main.add_table(table.filter(pc.less_equal(ranks, self.k)))
        if self._extra is not None:
            self._extra.add_table(table.filter(pc.greater(ranks, self.k)))
        self.items += pc.sum(pc.equal(ranks, 1)).as_py() or 0  # each list has one first entry

    def add_points(self, digests: Digests) -> None:
        """Points of the collection as the lists saw them, for the next update to compare."""
        assert self._points is not None
        pairs = digests.values()
        items, found = (i for i, _ in pairs), (d for _, d in pairs)
        self._points.add(point_id=digests, item_id=items, digest=found)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        assert self._main is not None and self._points is not None
        keep = exc_type is None
        try:  # the files that go with the export are renamed first: the export follows
            if self._extra is not None:
                self._extra.close(keep)
            elif keep:
                reserve_path(self.path).unlink(missing_ok=True)
            self._points.close(keep)
        finally:
            self._main.close(keep)


def file_metadata(path: Path) -> dict[str, Any]:
    """What an export recorded about itself (collection, model, spec...)."""
    raw = pq.read_schema(path).metadata or {}
    prefix = b"lookalike."
    return {
        k[len(prefix) :].decode(): json.loads(v) for k, v in raw.items() if k.startswith(prefix)
    }


def read_export(path: Path) -> pa.Table:
    """A whole export file; a file that is not one is named."""
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(f"{path} is not a readable export ({exc}): export again.") from None


def _beside(path: Path, extra: Path) -> pa.Table | None:
    """The file ``extra`` that the export at ``path`` wrote beside itself, when it is there,
    readable, and of the same export (another's is never used with it)."""
    try:
        if file_metadata(extra).get("export_id") != file_metadata(path).get("export_id"):
            return None
        return pq.read_table(extra)
    except (OSError, pa.ArrowException):
        return None


def read_lists(path: Path) -> tuple[pa.Table, bool]:
    """An export's rows with its reserve's appended, and whether it had one: without, the
    lists it would have repaired are asked again."""
    table, reserve = read_export(path), _beside(path, reserve_path(path))
    if reserve is None:
        return table, False
    return pa.concat_tables([table, reserve]), True


def read_digests(path: Path) -> Digests | None:
    """The points an export's lists were computed from, where it recorded them (else the
    collection it was made from is read instead)."""
    table = _beside(path, points_path(path))
    if table is None:
        return None
    pairs = zip(table["item_id"].to_pylist(), table["digest"].to_pylist(), strict=True)
    return dict(zip(table["point_id"].to_pylist(), pairs, strict=True))


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
