"""Editing a sample catalog's manifest between runs, as a shop's own export would change it."""

from __future__ import annotations

import csv
from pathlib import Path


def manifest_rows(root: Path) -> list[dict[str, str]]:
    with (root / "manifest.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def rewrite_manifest(root: Path, drop: set[str], add: list[dict[str, str]]) -> None:
    """Drop the rows of the ``drop`` item ids and append ``add``, keeping the columns."""
    path = root / "manifest.csv"
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = [r for r in reader if r["item_id"] not in drop]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows([*rows, *add])
