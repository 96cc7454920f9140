"""Filter values the graph answers badly, found when a collection is built, so that queries
filtered by them are answered right instead of silently at low recall.

A filter matching fewer points than the planner's line (``IndexParams.scan_threshold_kb``) is
answered by scanning its matches, which is right. One matching more walks the HNSW graph, which
goes wrong where the value's points sit in clusters (a label, a category) and the query's own
cluster lacks the value: the walk cannot cross between the value's clusters (docs/filtering.md;
one label of ten at a million clustered points: recall@10 0.66 at the store's beam). Whether a
value's points are so placed is a property of the catalog, so it is measured: each value over the
line of every keyword, integer and boolean field is asked :data:`SAMPLE` queries (stored points,
most of them outside the value) through the graph and exactly. A value under :data:`FLOOR` is
recorded in the collection's metadata, and every later query filtered by it is scanned
(:func:`served_right`): through the collection's scan copy where it has one (the embedded store
with quantization: 1.98 ms for one label at a million points), else it walks with the smallest
of :data:`BEAMS` that reached the floor, recorded with the value, or, failing one, scans
exactly. Unless the query sits among the value's own points (the item asked about has it, or a
photo's nearest item does), where the walk goes well. A value the graph answers well costs
nothing more.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from infra.store.base import Condition, Hit, IndexParams, Search
from infra.store.protocol import VectorStore
from search.filters import fields_of
from search.metadata import CollectionMeta, WeakFilter, read_meta, write_meta
from search.options import QueryOptions

SAMPLE = 50  # queries a value is measured with: 20 left its recall uncertain by about 0.02
FLOOR = 0.99  # the recall@10 a value's answers must reach
BEAMS = (512, 1024, 2048, 4096)  # tried in turn for a weak value; then the exact scan
K = 10
MOST_VALUES = 100  # values of a field looked at, most common first
CHECKED_TYPES = ("str", "int", "bool")  # facetable; a float field is filtered by ranges
COUNTS_KEPT = 4096  # filters whose counts are remembered, per process
_COUNTED: dict[tuple[str, str, tuple[Condition, ...]], int] = {}


def line_points(index: IndexParams, dim: int) -> int:
    """The planner's line as a count of points: filters matching more walk the graph."""
    return index.scan_threshold_kb * 1024 // (4 * dim)


def weak_values(
    store: VectorStore, name: str, fields: Sequence[str], line: int, beams: Sequence[int] = BEAMS
) -> dict[str, dict[str, WeakFilter]]:
    """The values over ``line`` whose graph answers fall under :data:`FLOOR`, by field, each
    keyed by its text (JSON object keys), with its recall and the first of ``beams`` that
    serves it (None: scanned)."""
    queries = store.find_ids(name, [], SAMPLE)  # point ids are hashes: an unbiased sample
    weak: dict[str, dict[str, WeakFilter]] = {}
    for key in fields:
        for value, count in store.value_counts(name, key, MOST_VALUES):
            if count <= line:
                break  # most common first: the rest are scanned too
            where = (Condition.equals(key, value),)
            exact = _ask(store, name, queries, where, exact=True)
            truth = [{h.id for h in hits} for hits in exact]
            recall = _recall(truth, _ask(store, name, queries, where))
            if recall >= FLOOR:
                continue
            beam = next(
                (
                    ef
                    for ef in beams
                    if _recall(truth, _ask(store, name, queries, where, ef=ef)) >= FLOOR
                ),
                None,
            )
            weak.setdefault(key, {})[str(value)] = WeakFilter(recall=round(recall, 4), hnsw_ef=beam)
    return weak


def _ask(
    store: VectorStore,
    name: str,
    ids: list[str],
    where: tuple[Condition, ...],
    ef: int | None = None,
    exact: bool = False,
) -> list[list[Hit]]:
    """The hits of ``ids`` as queries: exactly, or walking at ``ef`` (None: the store's)."""
    search = Search(K, where, exact=exact, with_payload=False, hnsw_ef=ef)
    return store.query_points(name, ids, search)


def _recall(truth: list[set[str]], found: list[list[Hit]]) -> float:
    shares = [len({h.id for h in f} & t) / len(t) for t, f in zip(truth, found, strict=True) if t]
    return sum(shares) / len(shares) if shares else 1.0


def check(store: VectorStore, name: str, index: IndexParams) -> float:
    """Measure collection ``name``'s values over the line and record the weak ones (an empty
    record where none is: a revision does not keep its source's); the seconds it took."""
    start = time.perf_counter()
    meta = read_meta(store, name)
    types = fields_of(store, name, meta) or {}
    indexed = store.indexed_fields(name)
    fields = [f for f, t in types.items() if t in CHECKED_TYPES and f in indexed]
    line = line_points(index, store.dimension(name))
    beams = () if store.has_scan_copy(name) else BEAMS  # the scan copy serves them all
    weak = weak_values(store, name, sorted(fields), line, beams)
    write_meta(store, name, weak_filters=weak, filter_line=line)
    return time.perf_counter() - start


def matches(
    store: VectorStore,
    name: str,
    meta: CollectionMeta,
    where: tuple[Condition, ...],
    memo: dict[tuple[Condition, ...], int] | None = None,
) -> int:
    """How many points ``where`` matches in collection ``name``: counted exactly (0.8 ms for a
    label and a season at 300,000 points, 8.5 ms the first time at a million), once per filter
    while a complete collection's points and payloads stay those its digest names, so that a
    filter asked again costs nothing. A collection without a digest is counted again unless the
    caller holds a ``memo`` while its points cannot change (one export)."""
    if not (meta.complete and meta.items_digest):
        if memo is None:
            return store.count(name, where)
        if where not in memo:
            memo[where] = store.count(name, where)
        return memo[where]
    key = (name, meta.items_digest, where)
    known = _COUNTED.get(key)  # one lookup: API threads share it
    if known is not None:
        return known
    count = store.count(name, where)
    if len(_COUNTED) >= COUNTS_KEPT:
        _COUNTED.pop(next(iter(_COUNTED)), None)  # the oldest
    _COUNTED[key] = count
    return count


def served_right(
    opts: QueryOptions,
    meta: CollectionMeta,
    near: Callable[[], Mapping[str, Any] | None] | None = None,
    count: Callable[[], int] | None = None,
) -> QueryOptions:
    """``opts`` with the beam their filter's weak values need, or a scan where one needs it;
    as they are when the filter names none, or when the query asks its own beam (a
    consumer trading recall for time). ``near`` gives, when asked, the payload of the point the
    query sits at (the item asked about, or the nearest one to a photo): a query among a weak
    value's own points walks well (the cause is crossing between its clusters), so it keeps the
    store's beam. ``count`` gives the points the whole filter matches, asked only when it
    narrows a weak value further: at or under the collection's line the planner scans them."""
    if not meta.weak_filters or opts.scan or opts.hnsw_ef is not None:
        return opts
    weak = [
        (c, meta.weak_filters[c.key][str(v)])
        for c in opts.where
        for v in c.any_of or ()
        if str(v) in meta.weak_filters.get(c.key, {})
    ]
    if not weak:
        return opts
    line, narrowed = meta.filter_line, len(opts.where) > len({id(c) for c, _ in weak})
    if narrowed and count is not None and line is not None and count() <= line:
        return opts
    payload = near() if near is not None else None
    if payload is not None and all(payload.get(c.key) in (c.any_of or ()) for c, _ in weak):
        return opts
    beams = [w.hnsw_ef for _, w in weak]
    if None in beams:
        return dataclasses.replace(opts, scan=True)
    return dataclasses.replace(opts, hnsw_ef=max(b or 0 for b in beams))
