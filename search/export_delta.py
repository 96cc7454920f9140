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

Where the export keeps a reserve (each list's next few entries past ``k``,
search/export_file.py), a list that an item left or entered is repaired without the index: the
items that left are taken out, those that entered put in at their score, and the list asked
again only when fewer than ``k`` remain. That is exact for a plain top-k: the reserved list held
every item scoring at or above its last entry, and every new or changed one that does is found
as above (its last entry being the reserve's).
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

from infra.store.base import PointBatch, Search
from infra.store.protocol import VectorStore
from search.export import ExportSpec, by_same, item_of
from search.export_file import Digests
from search.selfquery import BATCH, chunks

REVERSE_K = 64  # hits asked of each new item's self-query before the cut-off rule applies
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


def fingerprint(page: PointBatch, into: Digests) -> None:
    """Each point's item id and digest of its vector and payload, into ``into``. The vector's
    last 8 bits of mantissa are left out: qdrant-client's local mode changes stored vectors in
    their last bit on a collection's first query. A change below 3e-5 of a value is far below
    what reorders a list (the int8 copy the walk reads is some 100 times coarser), and a point
    taken for changed costs only its lists' recomputation."""
    coarse = np.ascontiguousarray(page.vectors, np.float32).view(np.uint32) >> 8
    for pid, vector, payload in zip(page.ids, coarse, page.payloads, strict=True):
        h = hashlib.blake2b(vector.tobytes(), digest_size=16)
        h.update(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
        into[pid] = (item_of(pid, payload), h.digest())


def digests(store: VectorStore, name: str) -> Digests:
    """Every point's digest, the collection read a page at a time."""
    out: Digests = {}
    for page in store.points(name):
        fingerprint(page, out)
    return out


def changes(before: Digests, after: Digests) -> Changes:
    """What differs between a collection's points ``before`` and ``after``."""
    found = Changes()
    found.items = {p: i for p, (i, _) in before.items()} | {p: i for p, (i, _) in after.items()}
    found.added = set(after) - set(before)
    found.removed = set(before) - set(after)
    found.changed = {p for p in set(after) & set(before) if after[p][1] != before[p][1]}
    found.points = {i: p for p, (i, _) in after.items()}
    return found


Entered = dict[str, dict[str, float]]  # list's item id -> {item entering it: its score}


def stale_lists(
    store: VectorStore,
    new: str,
    spec: ExportSpec,
    previous: pa.Table,
    ch: Changes,
    reserved: bool = False,
) -> tuple[set[str], Entered]:
    """Item ids whose lists must be recomputed in ``new``; with a ``reserved`` previous export,
    the lists left to repair instead, with the items that entered each."""
    k = spec.opts.k
    stats = previous.group_by("item_id").aggregate([("score", "min"), ("rank", "count")])
    items = stats.column("item_id").to_pylist()
    last = np.asarray(stats.column("score_min").to_numpy(zero_copy_only=False), np.float64)
    full = np.asarray(stats.column("rank_count").to_numpy(zero_copy_only=False)) >= k
    stale = {ch.items[p] for p in ch.touched}
    gone = sorted({ch.items[p] for p in ch.removed | ch.changed})
    if gone and not reserved:
        holding = previous.filter(pc.is_in(previous.column("neighbour_id"), pa.array(gone)))
        stale |= set(holding.column("item_id").to_pylist())
    entered: Entered = {}
    if not ch.touched:
        return stale, entered
    # Short lists, and items with none at all (no neighbour passed the filter), may gain one.
    stale |= {i for i, f in zip(items, full, strict=True) if not f}
    stale |= set(ch.points) - set(items)
    if full.any():
        last_of = dict(zip(items, last.tolist(), strict=True))
        lowest = float(last[full].min())
        cuts = _entered(store, new, spec, sorted(ch.touched), ch.items, last_of, lowest, entered)
        if cuts:
            _beyond_cuts(store, new, cuts, last_of, ch, entered)
    if not reserved:
        return stale | set(entered), {}
    return stale, {i: e for i, e in entered.items() if i not in stale}


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
    entered: Entered,
) -> dict[str, float]:
    """Find the lists that a new or changed item among ``ids`` scores at or above the last
    entry of (into ``entered``); the items whose self-query was cut off at its ``k``, with the
    score it was cut at."""
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
                        entered.setdefault(item, {})[item_of_point[pid]] = h.score
                if len(hits) == REVERSE_K:
                    cuts[pid] = hits[-1].score
    return cuts


def _beyond_cuts(
    store: VectorStore,
    name: str,
    cuts: dict[str, float],
    last_of: dict[str, float],
    ch: Changes,
    entered: Entered,
) -> None:
    """Lists whose last entry scores below a cut-off query's last hit, so that the query could
    not show them: the cosine to each is computed from the stored vectors."""
    highest = max(cuts.values()) + TOLERANCE
    candidates = [i for i, s in last_of.items() if s <= highest and i in ch.points]
    if not candidates:
        return
    order = sorted(cuts)
    found = store.vectors(name, order)
    x = _unit(np.stack([found[p] for p in order]))
    cut = np.asarray([cuts[p] for p in order]) + TOLERANCE
    for chunk in chunks(candidates, 4096):
        pids = [ch.points[i] for i in chunk]
        found = store.vectors(name, pids)
        y = _unit(np.stack([found[p] for p in pids]))
        last = np.asarray([last_of[i] for i in chunk]) - TOLERANCE
        sims = x @ y.T  # [cut queries, candidates]
        hit = (sims >= last[None, :]) & (last[None, :] <= cut[:, None])
        for q, j in zip(*np.nonzero(hit), strict=True):
            if pids[j] != order[q]:  # never a list of its own
                entered.setdefault(chunk[j], {})[ch.items[order[q]]] = float(sims[q, j])


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def repair(
    table: pa.Table, dropped: set[str], ch: Changes, entered: Entered, k: int, keep: int
) -> tuple[pa.Table, int, set[str]]:
    """The lists of ``table`` (an export with its reserve) but those of ``dropped`` items: the
    ones an item left or entered repaired and cut to ``keep`` entries, the rest as they are;
    how many were repaired; and the items whose lists fell short of ``k`` entries, left out
    to be asked again."""
    gone = pa.array(sorted({ch.items[p] for p in ch.removed | ch.changed}), pa.string())
    out = pc.is_in(table.column("item_id"), pa.array(sorted(dropped), pa.string()))
    left = pc.and_(pc.is_in(table.column("neighbour_id"), gone), pc.invert(out))
    reached = set(table.filter(left).column("item_id").to_pylist()) | (set(entered) - dropped)
    mask = pc.is_in(table.column("item_id"), pa.array(sorted(reached), pa.string()))
    joins = [(i, o, x) for i, e in entered.items() if i not in dropped for o, x in e.items()]
    owner, other, score = (list(c) for c in zip(*joins, strict=True)) if joins else ([], [], [])
    joined = pa.table(
        {
            "item_id": pa.array(owner, pa.string()),
            "neighbour_id": pa.array(other, pa.string()),
            "score": pa.array(score, pa.float32()),
        }
    )
    names = ["item_id", "neighbour_id", "score"]
    rows = pa.concat_tables([table.filter(pc.and_(mask, pc.invert(left))).select(names), joined])
    # Arrow's sort is stable: entries of equal score keep their order, the kept ones first.
    rows = rows.sort_by([("item_id", "ascending"), ("score", "descending")])
    codes = rows.column("item_id").combine_chunks().dictionary_encode().indices.to_numpy()
    starts = np.flatnonzero(np.diff(codes, prepend=-1))
    sizes = np.diff(np.append(starts, len(codes)))
    rank = np.arange(len(codes)) - np.repeat(starts, sizes) + 1
    size = np.repeat(sizes, sizes)
    short = set(rows.filter(pa.array((size < k) & (rank == 1))).column("item_id").to_pylist())
    fixed = rows.append_column("rank", pa.array(rank, pa.int32()))
    fixed = fixed.filter(pa.array((size >= k) & (rank <= keep)))
    untouched = table.filter(pc.invert(pc.or_(mask, out)))
    repaired = len(starts) - len(short)
    return pa.concat_tables([untouched, fixed.select(untouched.column_names)]), repaired, short
