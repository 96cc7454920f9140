"""One reader per kind of source: what the rest of Lookalike asks of a source, answered here.

Fashion-MNIST's idx files and a product catalog are read differently and used alike: code
outside ``catalogs/`` asks the source's reader (``reader_for(source).trains_own_model``) instead
of comparing its kind. A class folder and a manifest share one reader, :class:`FilesReader`:
they differ only in the scan (:func:`catalogs.files.read_catalog` tells them apart), their items
are image files either way, and collections record both as the kind ``files``.

Nothing here imports torch at module import: the query service asks a reader how to read an
uploaded photo and loads torch only then.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from catalogs.base import Item, SourceInfo, SourceKind

if TYPE_CHECKING:
    from typing import TypeAlias

    import torch
    from PIL import Image

    from catalogs.fashion_mnist import SplitImages
    from catalogs.files import CatalogImages
    from model.backbones import Embedder

    # A sized torch Dataset of ``(uint8 [C, S, S], label number)``, whichever reader made it.
    ItemImages: TypeAlias = SplitImages | CatalogImages


class Reader(ABC):
    """What a kind of source answers; one instance per kind, holding no state."""

    kind: ClassVar[SourceKind]
    # The source trains Lookalike's own CNN; any other embeds with a catalog backbone
    # (off the shelf or fine-tuned on its labels).
    trains_own_model: ClassVar[bool]
    # Its images are decoded from files, which pays for DataLoader worker processes; items held
    # in memory would only be copied to them.
    decodes_in_workers: ClassVar[bool]
    # Raw pixels small and alike enough (one size, centred) to search as a baseline, and to
    # find the near-copies between splits with.
    has_pixel_baseline: ClassVar[bool]

    @abstractmethod
    def describe(self, info: SourceInfo) -> str:
        """The source's name for people."""

    @abstractmethod
    def images(self, info: SourceInfo, items: list[Item], size: int, channels: int) -> ItemImages:
        """The items' pixels as the model wants them: uint8 [C, S, S] and a label number."""

    @abstractmethod
    def thumbnail(self, root: str, item: Item, size: int) -> np.ndarray:
        """uint8 [size, size, 3] for example grids and galleries."""

    @abstractmethod
    def stored_item(self, root: str, payload: dict[str, Any]) -> Item:
        """An indexed item, from its payload: where in the source (under ``root``) it is."""

    @abstractmethod
    def pixels_of(self, root: str, item: Item, size: int, channels: int) -> torch.Tensor:
        """One item's uint8 [C, S, S] exactly as :meth:`images` feeds it to the model."""

    @abstractmethod
    def point_key(self, item_id: str) -> tuple[str, str] | None:
        """The split and key an item's point id is made of (``infra.store.point_id``), read
        from its id alone; None for an id this kind of source never makes."""

    @abstractmethod
    def preprocess_upload(self, model: Embedder, image: Image.Image) -> torch.Tensor:
        """A consumer's photo (opened, perhaps cut to a region) as the collection's own items
        were fed to ``model``."""

    @abstractmethod
    def stored_image(self, root: str, item: Item) -> Image.Image:
        """An item's own picture, whole, as the source holds it (a region is cut from it)."""

    def pixels(self, info: SourceInfo, items: list[Item]) -> np.ndarray:
        """uint8 [N, D]: the items' raw pixels, when :attr:`has_pixel_baseline`."""
        raise ValueError(f"a {self.kind} source has no raw-pixel baseline")


class FashionMNISTReader(Reader):
    """Fashion-MNIST's splits, held in memory as tensors: 28 x 28 grey items on black."""

    kind = "fashion-mnist"
    trains_own_model = True
    decodes_in_workers = False
    has_pixel_baseline = True

    def describe(self, info: SourceInfo) -> str:
        return "Fashion-MNIST"

    def images(self, info: SourceInfo, items: list[Item], size: int, channels: int) -> ItemImages:
        from catalogs.fashion_mnist import SplitImages

        return SplitImages(info.root, items)

    def thumbnail(self, root: str, item: Item, size: int) -> np.ndarray:
        from catalogs.fashion_mnist import thumbnail

        return thumbnail(root, item, size // 28)

    def pixels_of(self, root: str, item: Item, size: int, channels: int) -> torch.Tensor:
        from catalogs.fashion_mnist import SplitImages

        images, _ = SplitImages(root, [item]).__getitems__([0])
        return images[0]

    def point_key(self, item_id: str) -> tuple[str, str] | None:
        split, _, index = item_id.partition("-")
        return (split, index) if split in ("train", "test") and index.isdigit() else None

    def stored_item(self, root: str, payload: dict[str, Any]) -> Item:
        # ``index`` is the row in the split's tensor; older payloads spell the id only.
        item_id = str(payload.get("item_id"))
        return Item(item_id, str(payload["split"]), str(payload.get("index", item_id)))

    def preprocess_upload(self, model: Embedder, image: Image.Image) -> torch.Tensor:
        from model.images import decode, decode_rgb

        # The CNN saw grey items on black; a backbone put over Fashion-MNIST reads the photo
        # as any backbone does.
        if model.name == "fmnist-cnn":
            return decode(image)[None]
        return decode_rgb(image, model.image_size, model.channels)

    def stored_image(self, root: str, item: Item) -> Image.Image:
        from PIL import Image

        pixels = self.pixels_of(root, item, 28, 1)
        return Image.fromarray(pixels[0].numpy())

    def pixels(self, info: SourceInfo, items: list[Item]) -> np.ndarray:
        from catalogs.fashion_mnist import pixels_of

        return pixels_of(info.root, items)


class FilesReader(Reader):
    """A catalog of image files (a folder per class, or a manifest): decoded on demand."""

    kind = "files"
    trains_own_model = False
    decodes_in_workers = True
    has_pixel_baseline = False

    def describe(self, info: SourceInfo) -> str:
        return info.location

    def images(self, info: SourceInfo, items: list[Item], size: int, channels: int) -> ItemImages:
        from catalogs.files import CatalogImages, CatalogItem

        root = Path(info.root)
        catalog = [CatalogItem(i.item_id, root / i.path, i.label) for i in items]
        return CatalogImages(catalog, size, channels, info.labels)

    def thumbnail(self, root: str, item: Item, size: int) -> np.ndarray:
        from model.images import decode_rgb

        return decode_rgb(Path(root) / item.path, size).permute(1, 2, 0).numpy()

    def pixels_of(self, root: str, item: Item, size: int, channels: int) -> torch.Tensor:
        from catalogs.files import CatalogImages, CatalogItem

        only = CatalogItem(item.item_id, Path(root) / item.path, None)
        return CatalogImages([only], size, channels, [])[0][0]

    def point_key(self, item_id: str) -> tuple[str, str] | None:
        return ("catalog", item_id)  # a catalog's items are named by their own ids

    def stored_item(self, root: str, payload: dict[str, Any]) -> Item:
        from catalogs.files import CatalogError

        # The path comes from the index, which anyone who can write to it controls: a photo
        # must lie inside the catalog's folder, so no file elsewhere can be served.
        relative = str(payload.get("path", ""))
        target = (Path(root) / relative).resolve()
        if not relative or not target.is_relative_to(Path(root).resolve()):
            raise CatalogError(f"the image of {payload.get('item_id')!r} lies outside the catalog.")
        item_id = str(payload.get("item_id"))
        return Item(item_id, str(payload["split"]), item_id, path=relative)

    def preprocess_upload(self, model: Embedder, image: Image.Image) -> torch.Tensor:
        from model.images import decode_rgb

        # Letterboxed on white at the backbone's size, as the catalog's photos were.
        return decode_rgb(image, model.image_size, model.channels)

    def stored_image(self, root: str, item: Item) -> Image.Image:
        from model.images import open_image

        return open_image(Path(root) / item.path)


READERS: dict[str, Reader] = {r.kind: r for r in (FashionMNISTReader(), FilesReader())}


def reader_for_kind(kind: str | None) -> Reader:
    """The reader of a kind as collections record it; none recorded is Fashion-MNIST (an index
    built before sources had kinds)."""
    try:
        return READERS[kind or "fashion-mnist"]
    except KeyError:
        known = ", ".join(READERS)
        raise ValueError(f"unknown source kind {kind!r}; known kinds: {known}") from None


def reader_for(source: SourceInfo) -> Reader:
    return reader_for_kind(source.kind)
