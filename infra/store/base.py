"""Types shared by both backends (the protocol they implement: ``infra.store.protocol``)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import numpy as np

from infra.errors import UserError

# Fixed namespace so ids are the same on every machine and every run.
_NAMESPACE = uuid.UUID("6f1d2c1e-7a53-5b0e-9b7e-4c1a8d3f0e21")
_NAMESPACE_BYTES = _NAMESPACE.bytes

Scalar = str | int | float | bool
IndexKind = Literal["keyword", "integer", "float"]


def point_id(dataset: str, split: str, index: int | str) -> str:
    """UUIDv5 of dataset, split and index (or a catalog's item id): a re-run overwrites, never
    duplicates."""
    # RFC 4122 version 5 by hand: the same string as uuid.uuid5, at a third of its cost, which
    # shows when a writer names 70,000 points.
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + f"{dataset}/{split}/{index}".encode()).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class StoreError(UserError, RuntimeError):
    """A request the store cannot serve: unknown collection, wrong dimension, bad arguments."""


class NotFoundError(StoreError):
    """No such collection, alias or item."""


class StoreBusyError(StoreError):
    """Another process holds the embedded collection open (e.g. a running `lookalike api`)."""


class StoreUnavailableError(StoreError):
    """The Qdrant server could not be reached."""


@dataclass(frozen=True)
class Condition:
    """One payload condition; all given parts must hold.

    ``any_of``: the field equals one of these; ``none_of``: it equals none of these;
    ``gte``/``gt``/``lte``/``lt``: numeric range.
    """

    key: str
    any_of: tuple[Scalar, ...] | None = None
    none_of: tuple[Scalar, ...] | None = None
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None

    @classmethod
    def equals(cls, key: str, value: Scalar) -> Condition:
        return cls(key, any_of=(value,))

    @property
    def is_range(self) -> bool:
        return any(v is not None for v in (self.gte, self.gt, self.lte, self.lt))


# Not frozen: a query makes ten or more, and a frozen dataclass's __init__ costs four times a
# plain one's (2.3 against 0.6 us), a tenth of Lookalike's own cost per query. Treat as read-only.
@dataclass(slots=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)
    vector: np.ndarray | None = field(default=None, compare=False)  # when the search asks


@dataclass(frozen=True)
class PointBatch:
    ids: Sequence[str]
    vectors: np.ndarray  # [N, D] float32
    payloads: Sequence[dict[str, Any]]

    def __post_init__(self) -> None:
        if not (len(self.ids) == len(self.vectors) == len(self.payloads)):
            raise StoreError(
                f"batch sizes disagree: {len(self.ids)} ids, {len(self.vectors)} vectors, "
                f"{len(self.payloads)} payloads"
            )


PAGE = 4096  # points a scroll of a whole collection reads at a time
SCAN_VECTOR = "scan"  # the named vector of a collection's scan copy; the main one is ""
# Candidates the scan copy's 4-bit codes keep per hit, rescored with its half-precision
# vectors: recall@10 0.967 at 2x and 0.998 at 4x for one label at a million (float vectors).
SCAN_OVERSAMPLING = 4.0


@dataclass(frozen=True)
class Search:
    """What one search asks for, the same on both backends.

    Top-``k`` hits after skipping ``offset``, among the points matching ``where`` and not in
    ``exclude_ids``, scoring at least ``score_threshold``. ``exact`` scans instead of walking
    the HNSW graph (evaluation: the metric should measure the embedding, not the index's
    approximation); ``with_payload=False`` returns ids and scores only, which saves converting
    each hit's payload, and a tuple of keys returns those payload fields alone; ``hnsw_ef``
    overrides the store's search beam for this request. ``with_ids=False`` may leave the hits'
    ids empty, for a caller that reads what it needs from the payload: the embedded engine
    then skips converting each id (a ``uuid.UUID``, then its string: ~3 us a hit). ``scan``
    answers a filter by scanning its matches: through the collection's scan copy where it has
    one (:attr:`IndexParams.quantization`), else exactly.
    """

    k: int = 10
    where: Sequence[Condition] = ()
    exclude_ids: Sequence[str] = ()
    offset: int = 0
    score_threshold: float | None = None
    exact: bool = False
    with_payload: bool | tuple[str, ...] = True
    hnsw_ef: int | None = None
    with_vectors: bool = False
    mmr: Mmr | None = None
    with_ids: bool = True
    scan: bool = False

    def __post_init__(self) -> None:
        check_k(self.k, self.offset)


@dataclass(frozen=True)
class Mmr:
    """Maximal marginal relevance, done by Qdrant: ``lambda_`` weighs relevance against
    diversity (1: nearest neighbours only), among the ``candidates`` nearest points."""

    lambda_: float
    candidates: int

    def __post_init__(self) -> None:
        if not 0 <= self.lambda_ <= 1:
            raise StoreError(f"the MMR lambda must be between 0 and 1, got {self.lambda_}.")


@dataclass(frozen=True)
class IndexParams:
    """HNSW build parameters, the same on both backends."""

    m: int = 16
    ef_construct: int = 100
    payload_m: int = 16
    # The query planner's line, in KB of (float) vectors a filter matches in a segment: below
    # it Qdrant scans the matches through the payload index (exact, int8-rescored where
    # quantized), above it walks the graph. None: 5,000 KB of float vectors; 64,000 KB counted
    # as float where int8 is read (32,000 points at 512-d), where the scan costs what the walk
    # costs at its worst. A filter whose matches sit in clusters (a label, a category) walks
    # badly: the graph's links stay inside each cluster, so the walk cannot cross to the
    # filter's other clusters; at 300,000 clustered 512-d points one label of ten (30,000
    # matches) walked at recall@10 0.857 (0.89 ms), scanned at 1.000 (1.86 ms, 0.062 us a
    # match; benchmarks.scale, docs/filtering.md). Blocks under the line get no extra links.
    full_scan_threshold_kb: int | None = None
    hnsw_ef: int | None = 128  # search-time beam; None: Qdrant's default
    # Segments smaller than this (KB of vectors) get no HNSW graph at all and are always scanned;
    # None keeps Qdrant's default (megabytes). Tests lower it to walk a graph over a few points.
    indexing_threshold_kb: int | None = None
    # int8 scalar quantization kept in RAM (a quarter of the float vectors), searches rescored
    # with the original vectors. The embedded store then also keeps a scan copy of every
    # vector (SCAN_VECTOR): no graph, 4-bit codes in RAM, half-precision vectors on disk to
    # rescore, its points stored in the order of the collection's principal field. A filter
    # the graph answers badly is scanned there: one label of ten at a million clustered 512-d
    # points in 1.98 ms p50 at recall@10 0.9965, against 12.9 ms walking at the beam its
    # recall needs (docs/filtering.md).
    quantization: bool = False
    # With quantization, the int8 search keeps this many times k candidates and rescores them
    # with the float vectors: at 100,000 clustered 512-d points, recall@10 0.946 at 1x and
    # 1.000 at 2x for the same time (benchmarks.scale).
    oversampling: float = 2.0
    # The embedded store's write-ahead log, off: see EdgeStore.ensure_collection. A Qdrant
    # server keeps its own. On only to measure what it costs (benchmarks.upsert_log).
    write_ahead_log: bool = False

    @property
    def scan_threshold_kb(self) -> int:
        """:attr:`full_scan_threshold_kb` as the engine is given it."""
        if self.full_scan_threshold_kb is not None:
            return self.full_scan_threshold_kb
        return 64_000 if self.quantization else 5_000


@dataclass(frozen=True)
class CollectionSpec:
    """What a collection is created with; ``keyword``/``integer``/``float`` fields get payload
    indexes, made before any point so the HNSW build links the points of each value (Qdrant's
    filterable HNSW), and a filter on them never walks the graph blind."""

    name: str
    dim: int
    keyword_fields: tuple[str, ...] = ("split", "label_name", "item_id")
    integer_fields: tuple[str, ...] = ("label",)
    float_fields: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    # The field the points of a collection with a scan copy are stored in order of (Qdrant's
    # is_principal / is_tenant), so that scanning one of its values reads one stretch of
    # memory: 3.56 -> 1.82 ms for one label of ten at a million points. A label or category.
    principal: str | None = "label"

    def indexes(self) -> list[tuple[str, IndexKind]]:
        """Every payload index to make, with its kind."""
        kinds: list[tuple[tuple[str, ...], IndexKind]] = [
            (self.keyword_fields, "keyword"),
            (self.integer_fields, "integer"),
            (self.float_fields, "float"),
        ]
        return [(key, kind) for keys, kind in kinds for key in keys]


class StoreBase:
    """What both backends do alike: ``with store:`` closes the store on the way out, errors
    included; ``has_collection`` on top of their own ``resolve``."""

    def close(self) -> None:
        raise NotImplementedError

    def resolve(self, name: str) -> str:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_collection(self, name: str) -> bool:
        try:
            self.resolve(name)
        except StoreError:
            return False
        return True


MAX_K = 10_000


def check_k(k: int, offset: int = 0) -> None:
    if not 1 <= k <= MAX_K:
        raise StoreError(f"k must be between 1 and {MAX_K}, got {k}.")
    if not 0 <= offset <= MAX_K:
        raise StoreError(f"offset must be between 0 and {MAX_K}, got {offset}.")
