"""Near-duplicate items, found through the index itself: every point queries the index for the
points at least ``threshold`` alike (batched, with a score threshold), and the pairs are merged
into groups. No all-pairs matrix is ever held: memory grows with the pairs found, not with the
square of the catalog."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from catalogs.products import product_of
from infra.store.base import MAX_K, Search, StoreError
from infra.store.protocol import VectorStore
from search.metadata import read_meta
from search.selfquery import all_ids, chunks, self_queries

NEIGHBOURS = 16  # asked per point first; a point with more copies than that asks again
PAIRS_PER_POINT = 20  # beyond this many pairs a point on average, these are not duplicates
# The self-queries' beam: no filter and a high score threshold need little of it (measured on
# the 70,000-item index at 0.999: pair recall 0.9997 at 16, the same as at 128, in 37% of the time).
SELF_QUERY_EF = 16


@dataclass(frozen=True)
class Group:
    """Items that are near-duplicates of each other (linked by pairs, possibly through others)."""

    ids: list[str]  # point ids, the best-linked first
    item_ids: list[str]
    labels: list[str]
    best: float  # the highest pair score inside the group


@dataclass(frozen=True)
class Duplicates:
    collection: str
    threshold: float
    points: int
    pairs: dict[tuple[str, str], float]  # (smaller id, larger id) -> cosine similarity
    groups: list[Group]  # largest first

    @property
    def items(self) -> int:
        return sum(len(g.ids) for g in self.groups)


class TooManyPairsError(StoreError):
    """The threshold links look-alikes, not copies: the answer would not be duplicates."""


def check_threshold(threshold: float) -> None:
    if not 0 < threshold <= 1:
        raise StoreError(
            f"the threshold is a cosine similarity in (0, 1], got {threshold}: 0.97 finds "
            "near-identical photos, lower finds looser look-alikes."
        )


def near_pairs(
    store: VectorStore, name: str, threshold: float, hnsw_ef: int | None = None
) -> dict[tuple[str, str], float]:
    """Every pair of points at least ``threshold`` alike."""
    check_threshold(threshold)
    ids = all_ids(store, name)
    limit = PAIRS_PER_POINT * max(1, len(ids))
    pairs: dict[tuple[str, str], float] = {}
    for chunk in chunks(ids):
        pending, k = list(chunk), NEIGHBOURS
        while pending:
            search = Search(k, score_threshold=threshold, with_payload=False, hnsw_ef=hnsw_ef)
            saturated = []
            for pid, row in self_queries(store, name, pending, search):
                for hit in row:
                    pairs[(min(pid, hit.id), max(pid, hit.id))] = hit.score
                if len(row) == k and k < MAX_K:
                    saturated.append(pid)  # more copies than asked for: ask for more
            pending, k = saturated, min(MAX_K, k * 4)
            if len(pairs) > limit:
                raise TooManyPairsError(
                    f"at cosine >= {threshold} the index links more than {limit:,} pairs "
                    f"({PAIRS_PER_POINT} a point) after {len(pairs):,} found: this embedding puts "
                    "look-alikes, not copies, that close. Raise --threshold (a metric-learning "
                    "embedding such as Fashion-MNIST's needs 0.999 or more)."
                )
    return pairs


def across_products(
    store: VectorStore, name: str, pairs: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    """The pairs of photos of two different products: one product's own photos (its front
    and its mirror image) are alike by design, not duplicates."""
    product: dict[str, str] = {}
    for chunk in chunks(sorted({p for pair in pairs for p in pair})):
        product |= {pid: product_of(p) for pid, p in store.payloads(name, chunk).items()}
    return {pair: s for pair, s in pairs.items() if product[pair[0]] != product[pair[1]]}


def groups_of(pairs: dict[tuple[str, str], float]) -> list[list[str]]:
    """Connected components of the pairs (union-find), largest first."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[str]] = {}
    for x in list(parent):
        members.setdefault(root(x), []).append(x)
    return sorted(members.values(), key=lambda g: (-len(g), min(g)))


def find_duplicates(
    store: VectorStore, name: str, threshold: float = 0.97, hnsw_ef: int | None = SELF_QUERY_EF
) -> Duplicates:
    """The near-duplicate groups of collection (or alias) ``name``."""
    collection = store.resolve(name)
    pairs = near_pairs(store, collection, threshold, hnsw_ef)
    if read_meta(store, collection).photos_per_product > 1:
        pairs = across_products(store, collection, pairs)
    best = _member_scores(pairs)
    groups = []
    for members in groups_of(pairs):
        payloads = store.payloads(collection, members)
        ordered = sorted(members, key=lambda m: (-best[m], m))
        groups.append(
            Group(
                ordered,
                [str(payloads[m].get("item_id", m)) for m in ordered],
                [str(payloads[m].get("label_name") or "") for m in ordered],
                max(best[m] for m in members),
            )
        )
    return Duplicates(collection, threshold, store.count(collection), pairs, groups)


def leaks(
    top_scores: np.ndarray, thresholds: Sequence[float] = (0.95, 0.97, 0.99)
) -> dict[float, np.ndarray]:
    """Which queries' nearest neighbour (in the other split) is a near-duplicate, per
    threshold: a boolean mask over the queries."""
    return {t: top_scores >= t for t in thresholds}


def write_groups(found: Duplicates, path: Path) -> Path:
    """The groups as JSON Lines (one group a line) or CSV (one item a line), by the suffix."""
    if path.suffix not in (".jsonl", ".csv"):
        raise StoreError(f"write the groups to a .jsonl or .csv file, not {path.name!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    score = _member_scores(found.pairs)
    if path.suffix == ".jsonl":
        rows = [
            {
                "group": n,
                "size": len(g.ids),
                "best_score": round(g.best, 6),
                "items": [
                    {"item_id": i, "label": lab, "score": round(score[pid], 6)}
                    for pid, i, lab in zip(g.ids, g.item_ids, g.labels, strict=True)
                ],
            }
            for n, g in enumerate(found.groups, start=1)
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["group", "item_id", "label", "score"])
        for n, g in enumerate(found.groups, start=1):
            for pid, i, lab in zip(g.ids, g.item_ids, g.labels, strict=True):
                out.writerow([n, i, lab, f"{score[pid]:.6f}"])
    return path


def _member_scores(pairs: dict[tuple[str, str], float]) -> dict[str, float]:
    """Each member's best pair score."""
    best: dict[str, float] = {}
    for (a, b), s in pairs.items():
        best[a], best[b] = max(best.get(a, 0.0), s), max(best.get(b, 0.0), s)
    return best
