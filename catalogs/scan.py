"""Scanning a source: read and check it once, write its items to a file, read them back."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from catalogs import fashion_mnist
from catalogs.base import Item, SourceInfo, SourceKind
from catalogs.files import CatalogError, check_items, read_catalog
from catalogs.files import fingerprint as files_fingerprint
from catalogs.files import label_names as files_labels
from catalogs.products import assign_products
from catalogs.readers import reader_for, reader_for_kind
from infra.files import write_json_atomically, write_json_lines_atomically
from model.data import fingerprint as fmnist_fingerprint
from model.labels import LABEL_NAMES

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from catalogs.readers import ItemImages, Reader

ITEMS_FILE = "items.jsonl"


def scan_fashion_mnist(
    root: Path, train_limit: int | None, test_limit: int | None, out_dir: Path
) -> SourceInfo:
    """Fashion-MNIST's train and test splits (cut to the limits) as one list of items."""
    train, test = fashion_mnist.load_splits(str(root), train_limit, test_limit)
    items = fashion_mnist.items_of(train, test)
    info = SourceInfo(
        kind="fashion-mnist",
        location=str(root),
        root=str(root),
        items_file=str(out_dir / ITEMS_FILE),
        count=len(items),
        labels=list(LABEL_NAMES),
        fingerprint=fmnist_fingerprint(train, test),
    )
    return _write(info, items)


def scan_files(catalog: Path, out_dir: Path) -> SourceInfo:
    """A folder per class or a manifest: every image checked once (an unchanged file's verdict
    is remembered by path, size and time), the bad ones reported with their reason."""
    found, problems = read_catalog(catalog)
    cache_file = out_dir / "checks.json"
    cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    good, bad = check_items(found, cache)
    good = assign_products(good)  # after the checks: a product's unreadable photo is not one
    write_json_atomically(cache_file, cache)
    root = catalog if catalog.is_dir() else catalog.parent
    items = [
        Item(
            c.item_id, "catalog", c.item_id, c.label, c.attrs, os.path.relpath(c.path, root), c.sha1
        )
        for c in good
    ]
    info = SourceInfo(
        kind="files",
        location=str(catalog),
        root=str(root),
        items_file=str(out_dir / ITEMS_FILE),
        count=len(items),
        labels=files_labels(good),
        fingerprint=files_fingerprint(good),
        problems=problems + bad,
    )
    return _write(info, items)


def _write(info: SourceInfo, items: list[Item]) -> SourceInfo:
    write_json_lines_atomically(Path(info.items_file), [asdict(i) for i in items])
    return info


def load_items(info: SourceInfo) -> list[Item]:
    """The scanned items, in scan order (read once per process and scan). Indexing reads them
    through :class:`ItemsFile` instead, so it never holds a whole catalog."""
    return _items(info.items_file, info.fingerprint, info.count)


def items_file(info: SourceInfo) -> ItemsFile:
    """One reader per scan and process, so its index of line offsets is built once."""
    return _items_file(info.items_file, info.fingerprint, info.count)


@functools.lru_cache(maxsize=4)
def _items_file(path: str, fingerprint: str, count: int) -> ItemsFile:
    return ItemsFile(Path(path), count)


class ItemsFile:
    """The scanned items read from the scan's file as they are needed: in chunks, in scan
    order, or at given positions (through an index of line offsets, 8 bytes an item)."""

    def __init__(self, path: Path, count: int) -> None:
        self.path = path
        self.count = count
        self._offsets: np.ndarray | None = None

    def __len__(self) -> int:
        return self.count

    def chunks(self, size: int) -> Iterator[tuple[int, list[Item]]]:
        """``(position of the first, items)``, ``size`` items at a time."""
        start, chunk = 0, []
        with self.path.open("rb") as f:
            for line in f:
                chunk.append(Item(**orjson.loads(line)))
                if len(chunk) == size:
                    yield start, chunk
                    start, chunk = start + size, []
        if chunk:
            yield start, chunk
        if start + len(chunk) != self.count:
            raise RuntimeError(f"{self.path} holds {start + len(chunk)} items, not {self.count}")

    def at(self, positions: Sequence[int]) -> list[Item]:
        offsets = self._line_offsets()
        out = []
        with self.path.open("rb") as f:
            for p in positions:
                f.seek(int(offsets[p]))
                out.append(Item(**orjson.loads(f.readline())))
        return out

    def _line_offsets(self) -> np.ndarray:
        if self._offsets is None:
            offsets = np.zeros(self.count + 2, dtype=np.int64)
            lines = 0
            with self.path.open("rb") as f:
                for lines, line in enumerate(f, start=1):
                    offsets[lines] = offsets[lines - 1] + len(line)
                    if lines > self.count:
                        break
            if lines != self.count:
                raise RuntimeError(f"{self.path} holds {lines} items or more, not {self.count}")
            self._offsets = offsets
        return self._offsets


@functools.lru_cache(maxsize=4)
def _items(items_file: str, fingerprint: str, count: int) -> list[Item]:
    return [i for _, chunk in ItemsFile(Path(items_file), count).chunks(10_000) for i in chunk]


def images(info: SourceInfo, items: list[Item], size: int, channels: int) -> ItemImages:
    """The items' pixels as the model wants them: uint8 [C, S, S] and a label number."""
    return reader_for(info).images(info, items, size, channels)


def thumbnail(info: SourceInfo, item: Item, size: int = 84) -> np.ndarray:
    """uint8 [size, size, 3] for example grids and galleries."""
    return reader_for(info).thumbnail(info.root, item, size)


def stored_thumbnail(
    kind: SourceKind | None, root: str | None, payload: dict[str, Any], size: int
) -> np.ndarray:
    """The thumbnail of an indexed item, from its collection's record (the source's kind and
    folder) and its payload (where in the source it is). A catalog's photo must lie inside the
    catalog's folder; anything else is refused."""
    reader, where = _stored(kind, root)
    return reader.thumbnail(where, reader.stored_item(where, payload), size)


def stored_pixels(
    kind: SourceKind | None, root: str | None, payload: dict[str, Any], size: int, channels: int
) -> torch.Tensor:
    """An indexed item's pixels as its collection's model was fed them (found as
    :func:`stored_thumbnail` finds its picture)."""
    reader, where = _stored(kind, root)
    return reader.pixels_of(where, reader.stored_item(where, payload), size, channels)


def stored_image(kind: SourceKind | None, root: str | None, payload: dict[str, Any]) -> Image.Image:
    """An indexed item's own picture, whole (a region of it is searched by cutting it)."""
    reader, where = _stored(kind, root)
    return reader.stored_image(where, reader.stored_item(where, payload))


def _stored(kind: SourceKind | None, root: str | None) -> tuple[Reader, str]:
    if kind is None or not root:
        raise CatalogError("the collection does not record where its images are: re-index it.")
    return reader_for_kind(kind), str(root)
