"""What a collection records about itself, as one typed model, read and written only here.

The store keeps metadata as a JSON object beside each collection (``VectorStore.metadata``);
every key Lookalike writes is a field below. Collections made by earlier versions lack some
fields (no ``kind``: a Fashion-MNIST collection; no ``fields``: read from a point) and still read;
keys this version does not know are kept as they are.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from catalogs.base import SourceKind
from infra.store.protocol import VectorStore


class WeakFilter(BaseModel):
    """A filter value the graph answers badly: its measured recall@10 at the store's beam, and
    the beam that reached 0.99 (None: none did, or the collection keeps a scan copy; queries
    filtered by it are scanned)."""

    recall: float
    hnsw_ef: int | None


class CollectionMeta(BaseModel):
    """One collection's record: where its items came from, which model embedded them, whether
    it is complete, how it measured."""

    model_config = ConfigDict(extra="allow")

    dataset: str | None = Field(default=None, description="The catalog's name.")
    kind: SourceKind | None = Field(
        default=None, description="The source's kind (unrecorded: Fashion-MNIST, older index)."
    )
    source: str | None = Field(default=None, description="The data root, folder or manifest.")
    root: str | None = Field(default=None, description="The folder item paths are relative to.")
    labels: list[str] = Field(default_factory=list, description="Label names by number.")
    fields: dict[str, str] | None = Field(
        default=None, description="Each payload field's type (str, int, float, bool)."
    )
    photos_per_product: int = Field(
        default=1, description="The most photos any product has (1: each item its own product)."
    )
    model_version: str = Field(default="", description="The model that embedded the items.")
    checkpoint: str | None = Field(default=None, description="That model's checkpoint file.")
    embed_precision: str = Field(
        default="fp32",
        description="What the items were embedded in (bf16 or fp32; model/precision.py): "
        "either agrees with the other to cosine 0.999, so queries may use their own.",
    )
    data_fingerprint: str | None = None
    created_at: str | None = None
    derived_from: str | None = Field(
        default=None, description="The revision this one was copied from, its vectors reused."
    )
    complete: bool = Field(default=False, description="Every item written and counted.")
    points: int | None = Field(default=None, description="The count, once complete.")
    items_digest: str | None = Field(default=None, description="Every point id and payload.")
    metrics: dict[str, float | int] = Field(
        default_factory=dict, description="The evaluation's figures (counts whole)."
    )
    export: dict[str, Any] | None = Field(
        default=None, description="The neighbour export made of it: path, items, rows, time."
    )
    weak_filters: dict[str, dict[str, WeakFilter]] = Field(
        default_factory=dict,
        description="Filter values the graph answered under recall@10 0.99 at the store's beam "
        "when the collection was built, by field and value (search/filter_check.py).",
    )
    filter_line: int | None = Field(
        default=None,
        description="The planner's line the check measured against, in points: a filter "
        "matching no more is scanned, whatever values it names.",
    )
    embed_upsert_seconds: float | None = None
    build_seconds: float | None = None
    filter_check_seconds: float | None = None

    @property
    def served_points(self) -> int | None:
        """The count of a complete collection; None while it is written."""
        return self.points if self.complete else None

    @property
    def precision_at_1(self) -> float | None:
        value = self.metrics.get("precision_at_1")
        return None if value is None else float(value)


def read_meta(store: VectorStore, name: str) -> CollectionMeta:
    """The record of collection (or alias) ``name``."""
    return CollectionMeta.model_validate(store.metadata(name))


def write_meta(store: VectorStore, name: str, **values: Any) -> None:
    """Record ``values`` (field names of :class:`CollectionMeta`), checked, the rest kept."""
    unknown = set(values) - set(CollectionMeta.model_fields)
    if unknown:
        raise TypeError(f"not collection metadata: {', '.join(sorted(unknown))}")
    checked = CollectionMeta.model_validate(values)
    store.set_metadata(name, checked.model_dump(mode="json", include=set(values)))
