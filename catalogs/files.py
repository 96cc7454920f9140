"""Product catalogs: a folder per class, or a CSV / JSON Lines manifest, checked image by image.

Reading never stops at a bad row or file: each one becomes a :class:`Problem` with its reason,
and the rest of the catalog goes on.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch.utils.data

from catalogs.base import Problem, Scalar, typed
from catalogs.products import PRODUCT
from catalogs.seasons import parse_season, season_of
from infra.errors import UserError
from model.images import ImageError, check_catalog_image, decode_rgb, open_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")
# Payload fields Lookalike writes itself; a manifest column of the same name would shadow them.
RESERVED = frozenset({"split", "model_version", "label_name", "index", "sha1", "path"})


class CatalogError(UserError, ValueError):
    """The catalog as a whole cannot be read (no such folder, no images, a bad manifest)."""


@dataclass(frozen=True)
class CatalogItem:
    item_id: str
    path: Path
    label: str | None = None
    attrs: dict[str, Scalar] = field(default_factory=dict)
    sha1: str = ""


def enrich(attrs: dict[str, Any]) -> dict[str, Scalar]:
    """Normalise ``season``; derive it from an ISO ``date`` when the row has no season."""
    out = {k: v for k, v in attrs.items() if v not in (None, "")}
    if "season" in out:
        out["season"] = parse_season(str(out["season"]))
    elif "date" in out:
        out["season"] = season_of(dt.date.fromisoformat(str(out["date"])[:10]))
    return out


def read_folder(root: Path) -> list[CatalogItem]:
    """``root/<label>/<image>``, or ``root/<label>/<product>/<photo>`` for a product with
    several photos; images directly under ``root`` have no label.

    The item id is the path below ``root`` without its suffix, e.g. ``shoes/sku-123``; a
    product's id is its folder's, e.g. ``shoes/sku-123`` for ``shoes/sku-123/back.jpg``.
    """
    items = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        rel = path.relative_to(root)
        label = rel.parts[0] if len(rel.parts) > 1 else None
        attrs: dict[str, Scalar] = {}
        if len(rel.parts) > 2:
            attrs[PRODUCT] = rel.parent.as_posix()
        items.append(CatalogItem(rel.with_suffix("").as_posix(), path.resolve(), label, attrs))
    return items


def _rows(manifest: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    if manifest.suffix.lower() == ".csv":
        with manifest.open(newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.DictReader(f), start=2):
                yield n, {k.strip(): typed(v) for k, v in row.items() if k and v is not None}
        return
    with manifest.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    row = {"__error__": f"not JSON ({exc.msg})"}
                yield n, row if isinstance(row, dict) else {"__error__": "not a JSON object"}


def _photo_rows(rows: Iterable[tuple[int, dict[str, Any]]]) -> Iterable[tuple[int, dict[str, Any]]]:
    """A JSON Lines row whose ``path`` is a list is a product with several photos: one row per
    photo, ``<item_id>/<n>`` (from 1, in the list's order), its product the row's id."""
    for n, row in rows:
        paths = row.get("path")
        if not isinstance(paths, list):
            yield n, row
            continue
        product = str(row.get(PRODUCT) or row.get("item_id") or "")
        if not product or not paths:
            yield n, {"__error__": "a list of paths needs an item_id and at least one path"}
            continue
        for i, path in enumerate(paths, start=1):
            yield n, {**row, "path": path, "item_id": f"{product}/{i}", PRODUCT: product}


def read_manifest(manifest: Path) -> tuple[list[CatalogItem], list[Problem]]:
    """Rows with ``path`` (relative to the manifest's folder), optional ``item_id`` (default: the
    path without suffix), ``label`` and ``product_id`` (rows sharing it are one product's
    photos; in JSON Lines ``path`` may also list them); every other column is an attribute."""
    items, problems = [], []
    for n, row in _photo_rows(_rows(manifest)):
        where = f"{manifest.name}:{n}"
        path_value = row.pop("path", None)
        if "__error__" in row or not path_value:
            reason = row.get("__error__", "no 'path' in this row")
            problems.append(Problem(str(row.get("item_id", "")), where, str(reason)))
            continue
        path = (manifest.parent / str(path_value)).resolve()
        item_id = str(row.pop("item_id", None) or Path(str(path_value)).with_suffix("").as_posix())
        label = row.pop("label", None)
        shadowed = RESERVED & row.keys()
        if shadowed:
            raise CatalogError(
                f"{manifest}: column {sorted(shadowed)[0]!r} is reserved by Lookalike's payload; "
                "rename it."
            )
        try:
            attrs = enrich(row)
        except ValueError as exc:
            problems.append(Problem(item_id, where, f"bad attribute: {exc}"))
            continue
        items.append(CatalogItem(item_id, path, None if label in (None, "") else str(label), attrs))
    return items, problems


def read_catalog(source: Path) -> tuple[list[CatalogItem], list[Problem]]:
    """A manifest file, a folder holding ``manifest.jsonl``/``manifest.csv``, or a class tree."""
    if not source.exists():
        raise CatalogError(f"no catalog at {source}: pass a folder of images or a manifest file.")
    problems: list[Problem] = []
    if source.is_dir():
        manifest = next((source / m for m in MANIFEST_NAMES if (source / m).is_file()), None)
        if manifest is None:
            items = read_folder(source)
        else:
            items, problems = read_manifest(manifest)
    elif source.suffix.lower() in (".csv", ".jsonl"):
        items, problems = read_manifest(source)
    else:
        raise CatalogError(f"{source} is neither a folder nor a .csv/.jsonl manifest.")
    if not items:
        raise CatalogError(
            f"no images found in {source} ({', '.join(IMAGE_SUFFIXES)} files in class folders, "
            "or rows of a manifest)."
        )
    return items, problems


def file_check(path: Path) -> tuple[str, str | None]:
    """``(sha1, None)`` for an image Lookalike can embed, ``(sha1, reason)`` otherwise."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return "", f"cannot read the file ({exc.strerror or type(exc).__name__})"
    sha1 = hashlib.sha1(raw).hexdigest()
    try:
        check_catalog_image(open_image(raw))
    except ImageError as exc:
        return sha1, str(exc)
    return sha1, None


def check_items(
    items: list[CatalogItem], cache: MutableMapping[str, Any] | None = None
) -> tuple[list[CatalogItem], list[Problem]]:
    """Drop duplicate ids (the first one stays) and images that cannot be embedded.

    ``cache`` maps ``path|size|mtime`` to an earlier verdict, so an unchanged file is not
    decoded again on the next run.
    """
    cache = {} if cache is None else cache
    good: list[CatalogItem] = []
    problems: list[Problem] = []
    first: dict[str, Path] = {}
    for item in items:
        if item.item_id in first:
            reason = f"duplicate item id (first at {first[item.item_id].name})"
            problems.append(Problem(item.item_id, str(item.path), reason))
            continue
        first[item.item_id] = item.path
        try:
            stat = item.path.stat()
        except OSError:
            problems.append(Problem(item.item_id, str(item.path), "file not found"))
            continue
        key = f"{item.path}|{stat.st_size}|{stat.st_mtime_ns}"
        if key not in cache:
            cache[key] = file_check(item.path)
        sha1, reason = cache[key]
        if reason is None:
            good.append(replace(item, sha1=sha1))
        else:
            problems.append(Problem(item.item_id, str(item.path), reason))
    return good, problems


def fingerprint(items: list[CatalogItem]) -> str:
    """Hash of ids, labels and file contents: what a fine-tuned model was trained on."""
    h = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.item_id):
        h.update(f"{item.item_id}\0{item.label}\0{item.sha1}\n".encode())
    return h.hexdigest()[:16]


class CatalogImages(torch.utils.data.Dataset[tuple[torch.Tensor, int]]):
    """Checked catalog items as ``(uint8 [C, S, S], label index)``, decoded on demand so a
    catalog of any size streams through a DataLoader. Unlabelled items get label -1."""

    def __init__(
        self, items: list[CatalogItem], size: int, channels: int, labels: list[str]
    ) -> None:
        self.paths = [item.path for item in items]
        index = {name: i for i, name in enumerate(labels)}
        self.labels = [index.get(item.label, -1) if item.label else -1 for item in items]
        self.size, self.channels = size, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return decode_rgb(self.paths[i], self.size, self.channels), self.labels[i]


def label_names(items: list[CatalogItem]) -> list[str]:
    return sorted({item.label for item in items if item.label})
