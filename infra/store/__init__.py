"""The one vector-store seam: ids, vectors and payload dicts in; scored hits out."""

from infra.store.base import (
    Condition,
    Hit,
    NotFoundError,
    PointBatch,
    Search,
    StoreBusyError,
    StoreError,
    StoreUnavailableError,
    point_id,
)
from infra.store.factory import held_store, open_store
from infra.store.protocol import VectorStore

__all__ = [
    "Condition",
    "Hit",
    "NotFoundError",
    "PointBatch",
    "Search",
    "StoreBusyError",
    "StoreError",
    "StoreUnavailableError",
    "VectorStore",
    "held_store",
    "open_store",
    "point_id",
]
