"""The one vector-store seam: ids, vectors and payload dicts in; scored hits out."""

from infra.store.base import (
    Condition,
    Hit,
    PointBatch,
    StoreError,
    StoreUnavailableError,
    VectorStore,
    point_id,
)
from infra.store.factory import open_store

__all__ = [
    "Condition",
    "Hit",
    "PointBatch",
    "StoreError",
    "StoreUnavailableError",
    "VectorStore",
    "open_store",
    "point_id",
]
