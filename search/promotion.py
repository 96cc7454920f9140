"""Versioned indexes behind an alias: listing, the quality gate, promotion, pruning."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from infra.store.base import StoreError
from infra.store.protocol import VectorStore
from search.metadata import CollectionMeta, read_meta
from search.revisions import base_of, revisions


@dataclass(frozen=True)
class IndexInfo:
    collection: str
    points: int | None  # None while it is being written
    meta: CollectionMeta
    served: bool


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    previous: str | None


def list_indexes(store: VectorStore, alias: str, prefix: str) -> list[IndexInfo]:
    """Collections whose name starts with ``prefix-``, oldest first. Only metadata is read:
    opening a collection would hold it against the process that serves or writes it."""
    served = store.aliases().get(alias)
    names = [n for n in store.list_collections() if n.startswith(f"{prefix}-")]
    return _oldest_first(_info(store, n, n == served) for n in names)


def list_every_index(store: VectorStore) -> dict[str, list[IndexInfo]]:
    """Every dataset's collections, oldest first, by dataset; served means behind any alias."""
    served = set(store.aliases().values())
    found: dict[str, list[IndexInfo]] = {}
    for name in store.list_collections():
        info = _info(store, name, name in served)
        found.setdefault(dataset_of(name, info.meta), []).append(info)
    return {dataset: _oldest_first(found[dataset]) for dataset in sorted(found)}


def _info(store: VectorStore, name: str, served: bool) -> IndexInfo:
    meta = read_meta(store, name)
    return IndexInfo(name, meta.served_points, meta, served)


def _oldest_first(infos: Iterable[IndexInfo]) -> list[IndexInfo]:
    return sorted(infos, key=lambda i: (i.meta.created_at or "", i.collection))


def dataset_of(collection: str, meta: CollectionMeta) -> str:
    """The dataset a collection belongs to: recorded, or its name less ``-<model version>``."""
    if meta.dataset:
        return meta.dataset
    base = base_of(collection)
    suffix = f"-{meta.model_version}"
    return base.removesuffix(suffix) if meta.model_version and base.endswith(suffix) else base


def choose_alias(aliases: dict[str, str], wanted: str, chosen: bool) -> str:
    """The alias to serve: ``wanted`` when it exists or was ``chosen`` by the user, else the only
    one the store has; several, none of them ``wanted``, must be named."""
    if chosen or wanted in aliases or not aliases:
        return wanted
    if len(aliases) == 1:
        return next(iter(aliases))
    raise StoreError(
        f"no index behind {wanted!r}, and this store serves several: "
        f"{', '.join(sorted(aliases))}; pick one with --alias NAME (or --dataset NAME)."
    )


def gate(
    new: float, current: float | None, floor: float, max_regression: float
) -> tuple[bool, str]:
    """Whether an index with precision@1 ``new`` may replace one with ``current``."""
    if new < floor:
        return False, f"precision@1 {new:.4f} is below the floor {floor:.4f}"
    if current is not None and new < current - max_regression:
        return False, (
            f"precision@1 {new:.4f} falls more than {max_regression:.4f} below the served "
            f"index's {current:.4f}"
        )
    return True, f"precision@1 {new:.4f} passes the gate"


def judge(
    store: VectorStore, alias: str, collection: str, floor: float, max_regression: float
) -> Decision:
    """Whether the gate lets ``collection`` replace what ``alias`` serves; nothing is moved."""
    previous = store.aliases().get(alias)
    new = read_meta(store, collection).precision_at_1
    if new is None:
        return Decision(False, f"{collection!r} has no evaluation metrics", previous)
    if previous == collection:
        return Decision(True, f"{collection!r} is already served", previous)
    current = None
    if previous is not None and store.has_collection(previous):
        current = read_meta(store, previous).precision_at_1
    ok, reason = gate(
        float(new), None if current is None else float(current), floor, max_regression
    )
    return Decision(ok, reason, previous)


def carry_out(store: VectorStore, alias: str, collection: str, decision: Decision) -> Decision:
    """Point ``alias`` at ``collection`` when ``decision`` (:func:`judge`'s, or a run's own)
    lets it; otherwise leave it as it is."""
    if decision.promoted and decision.previous != collection:
        store.set_alias(alias, collection)
    return decision


def find_version(store: VectorStore, prefix: str, version: str) -> str:
    """The collection of a model version (a unique prefix of it is enough): its newest
    revision, or a revision named in full (``<version>-r2``)."""
    names = store.list_collections()
    named = f"{prefix}-{version}"
    if named in names and base_of(named) != named:
        return named
    matches = sorted({base_of(c) for c in names if c.startswith(named)})
    if len(matches) == 1:
        return revisions(names, matches[0])[-1]
    if len(matches) != 1:
        what = "no" if not matches else f"{len(matches)}"
        raise StoreError(f"{what} index matches version {version!r}: see `lookalike index ls`.")
    return matches[0]


def prune(store: VectorStore, alias: str, prefix: str, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` indexes, never the one the alias serves."""
    if keep < 1:
        raise StoreError("--keep must be at least 1")
    infos = list_indexes(store, alias, prefix)
    doomed = [i.collection for i in infos[: max(0, len(infos) - keep)] if not i.served]
    for name in doomed:
        store.delete_collection(name)
    return doomed
