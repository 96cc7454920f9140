"""Revisions of a model's collection, so that a reader never blocks a writer.

A model version's collection is ``<dataset>-<version>``; on the embedded store, where one process
opens a collection at a time, a served collection is never written: a run that changes it copies
the newest revision into ``<dataset>-<version>-r<N+1>`` (its stored vectors come along, so only
new and changed items are embedded), brings the copy in line with the source, and the alias
moves once it passes the gate. A Qdrant server writes in place, as before.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from infra.store.base import StoreBusyError
from infra.store.protocol import VectorStore
from search.metadata import read_meta, write_meta

_REVISION = re.compile(r"^(?P<base>.+)-r(?P<n>\d+)$")


@dataclass(frozen=True)
class Revision:
    """The collection a run writes, and what it knows before opening it."""

    collection: str
    derived_from: str | None  # the revision it was copied from, when copied by this run
    unchanged: bool  # complete and built from the same items: nothing to write or measure


class Digest:
    """What decides a collection's content besides the model: every point id and payload,
    taken in chunks."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, ids: Sequence[str], payloads: Sequence[dict[str, Any]]) -> None:
        for pid, payload in zip(ids, payloads, strict=True):
            self._hash.update(pid.encode())
            self._hash.update(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()[:16]


def items_digest(ids: Sequence[str], payloads: Sequence[dict[str, Any]]) -> str:
    digest = Digest()
    digest.update(ids, payloads)
    return digest.hexdigest()


def number(collection: str, base: str) -> int | None:
    """1 for ``base`` itself, N for ``base-rN``, None for anything else."""
    if collection == base:
        return 1
    m = _REVISION.match(collection)
    return int(m["n"]) if m and m["base"] == base else None


def base_of(collection: str) -> str:
    m = _REVISION.match(collection)
    return m["base"] if m else collection


def revisions(names: Sequence[str], base: str) -> list[str]:
    """``base`` and its revisions among ``names``, oldest first."""
    found = [(n, c) for c in names if (n := number(c, base)) is not None]
    return [c for _, c in sorted(found)]


def writable(store: VectorStore, base: str, digest: str) -> Revision:
    """The collection this run may write for model collection ``base``.

    The newest revision, unless it is complete with the same items (nothing to do), or, on a
    store that cannot write a served collection, it is served or still open elsewhere (an API
    that has not yet let go of it): then it is copied into the next revision. A served
    collection is never opened here: it may be open in another process."""
    found = revisions(store.list_collections(), base)
    if not found:
        return Revision(base, None, False)
    latest = found[-1]
    meta = read_meta(store, latest)
    if meta.complete and meta.items_digest == digest:
        return Revision(latest, None, True)
    if store.writes_while_served or (
        latest not in store.aliases().values() and _can_open(store, latest)
    ):
        return Revision(latest, None, False)
    new = f"{base}-r{(number(latest, base) or 1) + 1}"
    store.copy_collection(latest, new)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_meta(store, new, derived_from=latest, complete=False, created_at=stamp, metrics={})
    return Revision(new, latest, False)


def _can_open(store: VectorStore, collection: str) -> bool:
    try:
        store.count(collection)
    except StoreBusyError:
        return False
    return True
