"""What every source of items has in common, and the payload each item gets in the index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Scalar = str | int | float | bool
SourceKind = Literal["fashion-mnist", "files"]


def typed(value: str) -> Scalar:
    """A CSV cell as the type it spells: int, float, bool, else the string itself."""
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class Item:
    """One catalog item. ``split`` is an attribute like any other (Fashion-MNIST's train/test,
    ``catalog`` for a shop's products); with ``key`` it names the item's point id."""

    item_id: str
    split: str
    key: str
    label: str | None = None
    attrs: dict[str, Scalar] = field(default_factory=dict)
    path: str = ""  # the image file, relative to the source's root ("" for array-held items)
    sha1: str = ""


@dataclass(frozen=True)
class Problem:
    """An item left out of the index, and why."""

    item_id: str
    path: str
    reason: str


@dataclass(frozen=True)
class SourceInfo:
    """A scanned source as tasks pass it on: small and hashable-by-value; the items themselves
    live in ``items_file`` (JSON Lines), written once per scan."""

    kind: SourceKind
    location: str  # Fashion-MNIST's data root, or the catalog folder or manifest
    root: str  # the folder item paths are relative to
    items_file: str
    count: int
    labels: list[str]  # label names in label-number order
    fingerprint: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def description(self) -> str:
        from catalogs.readers import reader_for  # the readers build on this module

        return reader_for(self).describe(self)


def payload(item: Item, label_numbers: dict[str, int], model_version: str) -> dict[str, Any]:
    """What a consumer gets with each hit: ids, split, label, file and every attribute."""
    out: dict[str, Any] = {
        **item.attrs,
        "item_id": item.item_id,
        "split": item.split,
        "model_version": model_version,
    }
    if item.path:
        out |= {"path": item.path, "sha1": item.sha1}
    if item.label:
        out |= {"label": label_numbers[item.label], "label_name": item.label}
    return out
