"""Bring a model's collection in line with a source, whatever the source.

Only items that are missing or whose payload changed (a new file, new attributes) are embedded;
points of items gone from the source are deleted; point ids derive from the dataset, the split
and the item's key, so a re-run after a crash overwrites and never duplicates. Items are read
in chunks and vectors travel in shard files: the writer holds neither a catalog's vectors nor
its payloads, only its point ids (to find the points of items that left).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from catalogs.base import Item, SourceInfo, payload
from catalogs.products import PRODUCT
from infra.store.base import CollectionSpec, IndexParams, PointBatch, point_id
from infra.store.protocol import VectorStore
from search import filter_check
from search.metadata import CollectionMeta, write_meta
from search.revisions import Digest

CHUNK = 5000


class Items(Protocol):
    """A source's items, read a chunk or a shard at a time (``catalogs.scan.ItemsFile``)."""

    def chunks(self, size: int) -> Iterator[tuple[int, list[Item]]]: ...

    def at(self, positions: Sequence[int]) -> list[Item]: ...


@dataclass(frozen=True)
class Target:
    """What every indexing step writes to: a model's collection of a scanned source."""

    store: VectorStore
    collection: str
    dataset: str
    source: SourceInfo
    items: Items
    model_version: str

    def point_ids(self, items: Sequence[Item]) -> list[str]:
        return point_ids(self.dataset, items)

    def payloads(self, items: Sequence[Item]) -> list[dict[str, Any]]:
        return expected_payloads(self.source, items, self.model_version)


@dataclass(frozen=True)
class Plan:
    shards: list[list[int]]  # positions (in scan order) to embed, one list per embedding task
    removed: int

    @property
    def to_embed(self) -> int:
        return sum(map(len, self.shards))


@dataclass
class Survey:
    """What one pass over a source's items learns: the digest of their points and payloads,
    and the fields their payloads have."""

    digest: str = ""
    kinds: dict[str, set[type]] = field(default_factory=dict)
    labelled: bool = False
    with_files: bool = False
    photos: Counter[str] = field(default_factory=Counter)  # of products with a product_id


def survey(target: Target) -> Survey:
    """Read the target's items once, a chunk at a time."""
    out, digest = Survey(), Digest()
    for _, chunk in target.items.chunks(CHUNK):
        digest.update(target.point_ids(chunk), target.payloads(chunk))
        for item in chunk:
            for key, value in item.attrs.items():
                out.kinds.setdefault(key, set()).add(type(value))
            if PRODUCT in item.attrs:
                out.photos[str(item.attrs[PRODUCT])] += 1
            out.labelled |= bool(item.label)
            out.with_files |= bool(item.path)
    out.digest = digest.hexdigest()
    return out


def collection_spec(name: str, dim: int, found: Survey, meta: CollectionMeta) -> CollectionSpec:
    """Payload indexes for ids, split and label, and every attribute that is all text, all
    integers or numbers (a price): a filter on a field without one walks the graph blind
    (recall@10 0.11 for a price band at 100,000 points, benchmarks.scale); the metadata records
    every payload field's type, so a query can refuse a filter on a field that does not exist."""
    kinds = found.kinds
    keyword = [k for k, t in sorted(kinds.items()) if t == {str}]
    integer = [k for k, t in sorted(kinds.items()) if t == {int}]
    numbers = [k for k, t in sorted(kinds.items()) if float in t and t <= {int, float}]
    fields = {"item_id": "str", "split": "str", "model_version": "str"}
    fields |= {"label": "int", "label_name": "str"} if found.labelled else {}
    fields |= {"path": "str", "sha1": "str"} if found.with_files else {}
    fields |= {k: _kind(t) for k, t in sorted(kinds.items())}
    return CollectionSpec(
        name,
        dim,
        keyword_fields=("split", "label_name", "item_id", *keyword),
        integer_fields=("label", *integer),
        float_fields=tuple(numbers),
        metadata={
            **meta.model_dump(mode="json", exclude_unset=True),
            "fields": fields,
            "photos_per_product": max(found.photos.values(), default=1),
        },
    )


def _kind(types: set[type]) -> str:
    """A field's type for filters: its one Python type, "float" for ints and floats mixed."""
    if types <= {int, float} and float in types:
        return "float"
    return next(iter(types)).__name__ if len(types) == 1 else "mixed"


def point_ids(dataset: str, items: Sequence[Item]) -> list[str]:
    return [point_id(dataset, i.split, i.key) for i in items]


def expected_payloads(
    info: SourceInfo, items: Sequence[Item], model_version: str
) -> list[dict[str, Any]]:
    numbers = {name: n for n, name in enumerate(info.labels)}
    return [payload(i, numbers, model_version) for i in items]


def remove_gone(store: VectorStore, collection: str, ids: set[str]) -> int:
    """Delete the points of items no longer in the source; return how many."""
    held = store.find_ids(collection, [], limit=store.count(collection) + 1)
    gone = sorted(set(held) - ids)
    if gone:
        store.delete(collection, gone)
    return len(gone)


def plan(target: Target, shard_size: int) -> Plan:
    """Delete what left the source; return the positions whose point is missing or whose
    stored payload differs from the source's, in shards."""
    todo: list[int] = []
    ids: set[str] = set()
    for start, chunk in target.items.chunks(CHUNK):
        chunk_ids = target.point_ids(chunk)
        present = target.store.payloads(target.collection, chunk_ids)
        expected = target.payloads(chunk)
        todo += [start + i for i, p in enumerate(chunk_ids) if present.get(p) != expected[i]]
        ids.update(chunk_ids)
    removed = remove_gone(target.store, target.collection, ids)
    return Plan([todo[i : i + shard_size] for i in range(0, len(todo), shard_size)], removed)


def write_shard(path: Path, positions: Sequence[int], vectors: np.ndarray) -> str:
    """Vectors travel between tasks as files, so other processes or hosts can embed them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, positions=np.asarray(positions), vectors=vectors)
    return str(path)


def upsert_shard(target: Target, path: str, batch_size: int) -> int:
    """Upsert one shard file batch by batch; return the points written. The caller deletes the
    file once the store has flushed (see :func:`tasks.indexing.upsert_shard`)."""
    shard = np.load(path)
    positions, vectors = shard["positions"], shard["vectors"]
    for s in range(0, len(positions), batch_size):
        part = target.items.at(positions[s : s + batch_size].tolist())
        batch = PointBatch(
            target.point_ids(part), vectors[s : s + len(part)], target.payloads(part)
        )
        target.store.upsert(target.collection, batch)
    return len(positions)


def finalize(
    store: VectorStore,
    collection: str,
    expected: int,
    upsert_seconds: float,
    index: IndexParams | None = None,
) -> int:
    """Flush and build the index, check the count, find the filter values its graph answers
    badly (with the store's ``index`` parameters; skipped without them), mark the collection
    complete."""
    start = time.perf_counter()
    store.finalize(collection)
    build = time.perf_counter() - start
    points = store.count(collection)
    if points != expected:
        raise RuntimeError(f"{collection!r} holds {points} points, expected {expected}")
    timings = {"embed_upsert_seconds": upsert_seconds, "build_seconds": build}
    if index is not None:
        timings["filter_check_seconds"] = filter_check.check(store, collection, index)
    write_meta(store, collection, complete=True, points=points, **timings)
    return points
