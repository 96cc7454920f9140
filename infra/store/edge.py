"""Embedded backend: qdrant-edge, Qdrant's in-process engine, one shard directory per collection."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import qdrant_edge as qe

from infra.files import try_lock, write_json_atomically
from infra.store.base import (
    SCAN_VECTOR,
    CollectionSpec,
    IndexParams,
    PointBatch,
    StoreBase,
    StoreBusyError,
    StoreError,
)
from infra.store.edge_reads import EdgeReads
from infra.store.edge_requests import (
    edge_config,
    field_index,
)
from infra.store.shared import (
    check_dimension,
    check_dimension_of,
    unknown_collection,
)

_META = "collection.json"
_ALIASES = "aliases.json"
_LOCK = "open.lock"  # held by the one store that has the collection open


def _busy(collection: str) -> StoreBusyError:
    return StoreBusyError(
        f"collection {collection!r} is open in another embedded store (another process or "
        "object): close it first, or use a Qdrant server for concurrent readers and writers."
    )


class EdgeStore(EdgeReads, StoreBase):
    """Collections are folders ``<root>/<name>/`` holding the shard and a small metadata file."""

    backend = "embedded"
    # One process opens a collection at a time, so a served collection is never written: a
    # writer copies it into a new revision (see search.revisions).
    writes_while_served = False

    def __init__(
        self,
        root: Path,
        index: IndexParams | None = None,
        keep_open: bool = False,
        read_only: bool = False,
    ) -> None:
        self.root = root
        self.index = index or IndexParams()
        self._keep_open = keep_open
        # A reader shares a collection with other readers (a served collection is never
        # written: revisions), and keeps writers and prune out while it has it open.
        self.read_only = read_only
        self._shards: dict[str, qe.EdgeShard] = {}
        self._locks: dict[str, IO[str]] = {}
        self._json: dict[Path, tuple[int, Any]] = {}
        self._dims: dict[str, int] = {}
        self._indexed: dict[str, frozenset[str]] = {}

    def _read_json(self, path: Path) -> Any:
        """Parse a small JSON file, re-reading only when it changed (queries check it each time)."""
        stamp = path.stat().st_mtime_ns
        cached = self._json.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, json.loads(path.read_text()))
            self._json[path] = cached
        return cached[1]

    def _dir(self, collection: str) -> Path:
        if not collection or "/" in collection or collection.startswith("."):
            raise StoreError(f"invalid collection name {collection!r}")
        return self.root / collection

    def _exists(self, collection: str) -> bool:
        return (self._dir(collection) / _META).is_file()

    def aliases(self) -> dict[str, str]:
        path = self.root / _ALIASES
        if not path.is_file():
            return {}
        return dict(self._read_json(path))

    def resolve(self, name: str) -> str:
        # Open collections answer without touching the disk; an alias costs one stat of its
        # file, so a promotion by another process is seen by the next query.
        if name in self._shards or self._exists(name):
            return name
        target = self.aliases().get(name)
        if target is None or not (target in self._shards or self._exists(target)):
            raise unknown_collection(name, str(self.root))
        return target

    def set_alias(self, alias: str, collection: str) -> None:
        if self._exists(alias):
            raise StoreError(f"{alias!r} is a collection; an alias needs a name of its own.")
        if not self._exists(collection):
            raise unknown_collection(collection, str(self.root))
        write_json_atomically(self.root / _ALIASES, {**self.aliases(), alias: collection})

    def delete_alias(self, alias: str) -> None:
        rest = {a: c for a, c in self.aliases().items() if a != alias}
        write_json_atomically(self.root / _ALIASES, rest)

    def list_collections(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{_META}"))

    def _meta(self, name: str) -> dict[str, Any]:
        return dict(self._read_json(self._dir(self.resolve(name)) / _META))

    def metadata(self, name: str) -> dict[str, Any]:
        return dict(self._meta(name).get("metadata", {}))

    def set_metadata(self, name: str, values: dict[str, Any]) -> None:
        collection = self.resolve(name)
        meta = self._meta(collection)
        meta["metadata"] = {**meta.get("metadata", {}), **values}
        write_json_atomically(self._dir(collection) / _META, meta)

    def _lock(self, collection: str) -> None:
        """Take the collection's lock, or fail: a writer opens it alone, readers together."""
        lock = try_lock(self._dir(collection) / _LOCK, shared=self.read_only)
        if lock is None:
            raise _busy(collection)
        self._locks[collection] = lock

    def _writable(self, collection: str) -> None:
        if self.read_only:
            raise StoreError(f"this store only reads: {collection!r} is not written here.")

    def _shard(self, name: str) -> qe.EdgeShard:
        collection = self.resolve(name)
        if collection not in self._shards:
            self._lock(collection)
            try:
                shard = qe.EdgeShard.load(str(self._dir(collection) / "shard"))
            except Exception as exc:
                self._locks.pop(collection).close()
                # A shard made with a write-ahead log (by an earlier Lookalike) locks it too.
                if "WouldBlock" not in str(exc):
                    raise
                raise _busy(collection) from exc
            self._shards[collection] = shard
        return self._shards[collection]

    def _close(self, collection: str) -> None:
        self._indexed.pop(collection, None)
        shard = self._shards.pop(collection, None)
        if shard is not None:
            shard.close()
        lock = self._locks.pop(collection, None)
        if lock is not None:
            lock.close()

    def indexed_fields(self, name: str) -> frozenset[str]:
        collection = self.resolve(name)
        if collection not in self._indexed:  # a written collection's indexes never change
            schema = self._shard(collection).info().payload_schema
            self._indexed[collection] = frozenset(schema)
        return self._indexed[collection]

    def dimension(self, name: str) -> int:
        collection = self.resolve(name)
        if collection not in self._dims:  # a collection's dimension never changes
            self._dims[collection] = int(self._meta(collection)["dim"])
        return self._dims[collection]

    def has_scan_copy(self, name: str) -> bool:
        """Whether the collection keeps a scan copy (made with quantization; not before
        2026-12-08)."""
        return bool(self._meta(name).get("scan_copy", False))

    def ensure_collection(self, spec: CollectionSpec) -> None:
        if self.has_collection(spec.name):
            check_dimension_of(spec, self.dimension(spec.name))
            return
        self._writable(spec.name)
        folder = self._dir(spec.name)
        shutil.rmtree(folder, ignore_errors=True)  # leftovers of a create that died half-way
        folder.mkdir(parents=True)
        config = edge_config(self.index, spec.dim)
        self._lock(spec.name)
        try:
            shard = qe.EdgeShard.create(str(folder / "shard"), config)
        except Exception:
            self._close(spec.name)
            raise
        scan = self.index.quantization
        for key, kind in spec.indexes():
            schema = field_index(kind, principal=scan and key == spec.principal)
            shard.update(qe.UpdateOperation.create_field_index(key, schema))
        shard.flush()
        self._shards[spec.name] = shard
        meta = {"dim": spec.dim, "distance": "cosine", "scan_copy": scan, "metadata": spec.metadata}
        write_json_atomically(folder / _META, meta)  # written last: marks the create complete

    def delete_collection(self, name: str) -> None:
        if name in self.aliases().values():
            raise StoreError(f"collection {name!r} is served by an alias; promote another first.")
        self._writable(name)
        self._close(name)
        self._dims.pop(name, None)
        if self._exists(name):
            self._lock(name)  # refused while a reader (an API letting go of it) has it open
        shutil.rmtree(self._dir(name), ignore_errors=True)
        self._close(name)  # lets go of the lock taken for the deletion

    def copy_collection(self, source: str, target: str) -> None:
        """Copy a flushed collection's folder, also while another process has it open (a
        served collection is never written, so its files do not change under the copy). The
        copy is staged outside the listing and renamed into place: a crash leaves no half
        collection."""
        src = self._dir(self.resolve(source))
        dst = self._dir(target)
        if dst.exists():
            raise StoreError(f"collection {target!r} already exists.")
        staging = self.root / ".staging" / target
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(src, staging)
        staging.rename(dst)

    def close_collection(self, name: str) -> None:
        """Close one open collection, so another process may open it (or prune delete it)."""
        self._close(name)

    def upsert(self, name: str, batch: PointBatch) -> None:
        self._writable(name)
        check_dimension(name, self.dimension(name), batch.vectors)
        rows = batch.vectors.tolist()
        # A point written without its scan copy would be missing from every scan of it.
        vectors: list[Any] = (
            [{"": r, SCAN_VECTOR: r} for r in rows] if self.has_scan_copy(name) else rows
        )
        points = [
            qe.Point(id=pid, vector=vec, payload=payload)
            for pid, vec, payload in zip(batch.ids, vectors, batch.payloads, strict=True)
        ]
        self._shard(name).update(qe.UpdateOperation.upsert_points(points))

    def delete(self, name: str, ids: Sequence[str]) -> None:
        self._writable(name)
        self._shard(name).update(qe.UpdateOperation.delete_points(list(ids)))

    def finalize(self, name: str) -> None:
        self._writable(name)
        collection = self.resolve(name)
        shard = self._shard(collection)
        shard.flush()
        shard.optimize()
        shard.flush()
        # The first load after a writer closes a shard folds the writer's journals in (it
        # deletes files): done here, by the writer, so readers never change a served
        # collection's files (tests/infra/test_shared_readers.py hashes them).
        self._close(collection)
        self._shard(collection)

    def close(self) -> None:
        """Flush every open collection; close them too, unless the store is held open."""
        for shard in [] if self.read_only else self._shards.values():
            shard.flush()
        if self._keep_open:
            return
        for collection in list(self._shards):
            self._close(collection)

    def release(self) -> None:
        """Close a store that was held open."""
        self._keep_open = False
        self.close()
