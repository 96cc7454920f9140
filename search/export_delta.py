"""Which neighbour lists a re-index can have changed, so that an export is brought up to date by
recomputing those alone, and equals a full recompute.

A list (its item's top ``k`` after the filter, dedup and cap) can change only when its own item
is new or changed; when it holds an item that left or changed; when it is short of ``k`` (a new
item may join it); or when a new or changed item ``x`` now scores above its last entry. The last
is found from ``x``'s side, cosine being symmetric: a self-query of ``x`` with a score threshold
(the lowest last score of any list) finds every list it enters; where that query is cut off at
its ``k``, every list whose last score is below the cut-off's is taken as stale too. Dedup and
the cap only ever drop hits below a kept one, so an item ranking below a full list's last entry
cannot change it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from infra.store.base import Search
from infra.store.protocol import VectorStore
from search.export import ExportSpec, by_same, item_of
from search.selfquery import BATCH, all_ids, chunks

REVERSE_K = 200  # hits asked of each new item's self-query before the cut-off rule applies
TOLERANCE = 1e-5  # scores are kept as float32 in the file: compare with room for rounding


@dataclass
class Changes:
    """Point ids added, changed (vector or payload) and removed between two collections, and
    each point's item id on either side."""

    added: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    items: dict[str, str] = field(default_factory=dict)  # point id -> item id, both sides
    points: dict[str, str] = field(default_factory=dict)  # item id -> point id in the new one

    @property
    def touched(self) -> set[str]:
        """Points whose vector or payload may now enter lists they were not in."""
        return self.added | self.changed


def _fingerprints(store: VectorStore, name: str, items: dict[str, str]) -> dict[str, bytes]:
    """Each point's digest of its vector and payload, read a batch at a time."""
    out: dict[str, bytes] = {}
    for chunk in chunks(all_ids(store, name), BATCH):
        vectors, payloads = store.vectors(name, chunk), store.payloads(name, chunk)
        for pid in chunk:
            h = hashlib.blake2b(np.asarray(vectors[pid], np.float32).tobytes(), digest_size=16)
            h.update(orjson.dumps(payloads[pid], option=orjson.OPT_SORT_KEYS))
            out[pid] = h.digest()
            items[pid] = item_of(pid, payloads[pid])
    return out


def changes(store: VectorStore, old: str, new: str) -> Changes:
    """What differs between collections ``old`` and ``new``."""
    found = Changes()
    before = _fingerprints(store, old, found.items)
    after = _fingerprints(store, new, found.items)
    found.added = set(after) - set(before)
    found.removed = set(before) - set(after)
    found.changed = {p for p in set(after) & set(before) if after[p] != before[p]}
    found.points = {found.items[p]: p for p in after}
    return found


def stale_lists(
    store: VectorStore, new: str, spec: ExportSpec, previous: pa.Table, ch: Changes
) -> set[str]:
    """Item ids whose lists must be recomputed in ``new``."""
    k = spec.opts.k
    stats = previous.group_by("item_id").aggregate([("score", "min"), ("rank", "count")])
    items = stats.column("item_id").to_pylist()
    last = np.asarray(stats.column("score_min").to_numpy(zero_copy_only=False), np.float64)
    full = np.asarray(stats.column("rank_count").to_numpy(zero_copy_only=False)) >= k
    stale = {ch.items[p] for p in ch.touched}
    gone = sorted({ch.items[p] for p in ch.removed | ch.changed})
    if gone:
        holding = previous.filter(pc.is_in(previous.column("neighbour_id"), pa.array(gone)))
        stale |= set(holding.column("item_id").to_pylist())
    if not ch.touched:
        return stale
    # Short lists, and items with none at all (no neighbour passed the filter), may gain one.
    stale |= {i for i, f in zip(items, full, strict=True) if not f}
    stale |= set(ch.points) - set(items)
    if full.any():
        last_of = dict(zip(items, last.tolist(), strict=True))
        lowest = float(last[full].min())
        entered, cuts = _entered(store, new, spec, sorted(ch.touched), ch.items, last_of, lowest)
        stale |= entered
        if cuts:
            stale |= _beyond_cuts(store, new, cuts, last_of, ch.points)
    return stale


def _reverse_search(spec: ExportSpec, where: Sequence[Any], lowest: float) -> Search:
    return Search(
        REVERSE_K,
        tuple(where),
        score_threshold=lowest - TOLERANCE,
        with_payload=False,
        hnsw_ef=spec.opts.hnsw_ef,
    )


def _groups(
    store: VectorStore, name: str, spec: ExportSpec, ids: Sequence[str]
) -> dict[tuple[Any, ...], list[str]]:
    """``ids`` by the values of their ``same`` fields, read a batch at a time."""
    out: dict[tuple[Any, ...], list[str]] = {}
    for chunk in chunks(ids, BATCH):
        by_same(spec, chunk, store.payloads(name, chunk), into=out)
    return out


def _entered(
    store: VectorStore,
    name: str,
    spec: ExportSpec,
    ids: Sequence[str],
    item_of_point: dict[str, str],
    last_of: dict[str, float],
    lowest: float,
) -> tuple[set[str], dict[str, float]]:
    """Lists that a new or changed item among ``ids`` scores at or above the last entry of, and
    the items whose self-query was cut off at its ``k``, with the score it was cut at."""
    entered: set[str] = set()
    cuts: dict[str, float] = {}
    for values, members in _groups(store, name, spec, ids).items():
        if None in values:  # no field to share: it enters no list
            continue
        where = spec.for_values(values).where[len(spec.opts.where) :]
        search = _reverse_search(spec, where, lowest)
        for chunk in chunks(members, BATCH):
            for pid, hits in zip(chunk, store.query_points(name, chunk, search), strict=True):
                for h in hits:
                    item = item_of_point[h.id]
                    if h.score >= last_of.get(item, np.inf) - TOLERANCE:
                        entered.add(item)
                if len(hits) == REVERSE_K:
                    cuts[pid] = hits[-1].score
    return entered, cuts


def _beyond_cuts(
    store: VectorStore,
    name: str,
    cuts: dict[str, float],
    last_of: dict[str, float],
    points: dict[str, str],
) -> set[str]:
    """Lists whose last entry scores below a cut-off query's last hit, so that the query could
    not show them: the cosine to each is computed from the stored vectors."""
    highest = max(cuts.values()) + TOLERANCE
    candidates = [i for i, s in last_of.items() if s <= highest and i in points]
    if not candidates:
        return set()
    xs = list(cuts)
    x = _unit(np.stack([v for _, v in sorted(store.vectors(name, xs).items())]))
    order = sorted(xs)
    cut = np.asarray([cuts[p] for p in order]) + TOLERANCE
    stale: set[str] = set()
    for chunk in chunks(candidates, 4096):
        pids = [points[i] for i in chunk]
        found = store.vectors(name, pids)
        y = _unit(np.stack([found[p] for p in pids]))
        last = np.asarray([last_of[i] for i in chunk]) - TOLERANCE
        sims = x @ y.T  # [cut queries, candidates]
        hit = (sims >= last[None, :]) & (last[None, :] <= cut[:, None])
        stale |= {chunk[int(j)] for j in np.flatnonzero(hit.any(axis=0))}
    return stale


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
