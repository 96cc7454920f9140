"""One reader per kind of source: each reader's answers, and the items it reads."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from catalogs.base import SourceInfo
from catalogs.files import CatalogError
from catalogs.readers import (
    FashionMNISTReader,
    FilesReader,
    reader_for,
    reader_for_kind,
)
from catalogs.sample import write_sample_catalog
from catalogs.scan import load_items, scan_fashion_mnist, scan_files, stored_thumbnail
from model.data import Split, load_split

SIZE = 32


def _split(n: int = 30) -> Split:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    return Split("test", images, torch.arange(n) % 10)


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def fmnist(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> SourceInfo:
    return scan_fashion_mnist(data_root, 40, 10, tmp_path_factory.mktemp("scan"))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> SourceInfo:
    root = tmp_path_factory.mktemp("shop")
    write_sample_catalog(_split(), root, n=12, size=48, broken=False)
    return scan_files(root, tmp_path_factory.mktemp("scan"))


def test_each_kind_has_its_reader_and_an_unrecorded_kind_is_fashion_mnist() -> None:
    assert isinstance(reader_for_kind("fashion-mnist"), FashionMNISTReader)
    assert isinstance(reader_for_kind("files"), FilesReader)
    assert isinstance(reader_for_kind(None), FashionMNISTReader)  # an index from before kinds
    with pytest.raises(ValueError, match="known kinds: fashion-mnist, files"):
        reader_for_kind("parquet")


def test_what_each_reader_answers() -> None:
    fm, files = FashionMNISTReader(), FilesReader()
    # Fashion-MNIST trains the CNN, is held in memory and has pixels worth a baseline.
    assert (fm.trains_own_model, fm.decodes_in_workers, fm.has_pixel_baseline) == (
        True,
        False,
        True,
    )
    # A catalog is embedded by a backbone, decoded from files, and has no pixel baseline.
    assert (files.trains_own_model, files.decodes_in_workers, files.has_pixel_baseline) == (
        False,
        True,
        False,
    )


def test_fashion_mnist_reader_reads_the_split_tensors(fmnist: SourceInfo, data_root: Path) -> None:
    reader, items = reader_for(fmnist), load_items(fmnist)
    assert fmnist.description == "Fashion-MNIST"
    test = load_split(data_root, "test")
    data = reader.images(fmnist, items, SIZE, 3)  # the size is the CNN's own: 28
    image, label = data[40 + 3]
    assert image.shape == (1, 28, 28) and torch.equal(image[0], test.images[3])
    assert label == int(test.labels[3])
    pixels = reader.pixels(fmnist, items)
    assert pixels.shape == (50, 784) and pixels.dtype == np.uint8
    assert np.array_equal(pixels[43], test.images[3].numpy().reshape(-1))
    thumb = reader.thumbnail(fmnist.root, items[43], 84)
    assert thumb.shape == (84, 84, 3) and np.array_equal(thumb[::3, ::3, 0], test.images[3])


def test_fashion_mnist_reader_finds_an_indexed_item_by_its_index(
    fmnist: SourceInfo, data_root: Path
) -> None:
    payload = {"item_id": "test-3", "index": 3, "split": "test", "label": 1}
    item = FashionMNISTReader().stored_item(fmnist.root, payload)
    assert (item.item_id, item.split, item.key) == ("test-3", "test", "3")
    thumb = stored_thumbnail("fashion-mnist", fmnist.root, payload, 56)
    assert np.array_equal(thumb[::2, ::2, 0], load_split(data_root, "test").images[3])


def test_fashion_mnist_uploads_are_grey_for_the_cnn_and_rgb_for_a_backbone() -> None:
    photo = _png(np.full((28, 28), 200, dtype=np.uint8))
    cnn = SimpleNamespace(name="fmnist-cnn", image_size=28, channels=1)
    assert FashionMNISTReader().preprocess_upload(cnn, photo).shape == (1, 28, 28)  # type: ignore[arg-type]
    backbone = SimpleNamespace(name="resnet18", image_size=SIZE, channels=3)
    pixels = FashionMNISTReader().preprocess_upload(backbone, photo)  # type: ignore[arg-type]
    assert pixels.shape == (3, SIZE, SIZE) and pixels.dtype == torch.uint8


def test_files_reader_decodes_photos_at_the_model_size(catalog: SourceInfo) -> None:
    reader, items = reader_for(catalog), load_items(catalog)
    assert catalog.description == catalog.location
    data = reader.images(catalog, items, SIZE, 3)
    assert len(data) == 12
    image, label = data[0]
    assert image.shape == (3, SIZE, SIZE) and catalog.labels[label] == items[0].label
    assert reader.thumbnail(catalog.root, items[0], 84).shape == (84, 84, 3)
    with pytest.raises(ValueError, match="no raw-pixel baseline"):
        reader.pixels(catalog, items)


def test_files_reader_serves_only_photos_inside_the_catalog(catalog: SourceInfo) -> None:
    item = load_items(catalog)[0]
    payload = {"item_id": item.item_id, "split": "catalog", "path": item.path}
    found = FilesReader().stored_item(catalog.root, payload)
    assert (found.item_id, found.key, found.path) == (item.item_id, item.item_id, item.path)
    assert stored_thumbnail("files", catalog.root, payload, 84).shape == (84, 84, 3)
    for path in ("", "../outside.png", "/etc/hostname"):
        with pytest.raises(CatalogError, match="outside the catalog"):
            FilesReader().stored_item(catalog.root, {**payload, "path": path})
    with pytest.raises(CatalogError, match="re-index it"):
        stored_thumbnail(None, catalog.root, payload, 84)


def test_files_uploads_are_letterboxed_at_the_backbone_size() -> None:
    photo = _png(np.zeros((20, 40, 3), dtype=np.uint8))  # wide: white bars above and below
    backbone = SimpleNamespace(name="resnet18", image_size=SIZE, channels=3)
    pixels = FilesReader().preprocess_upload(backbone, photo)  # type: ignore[arg-type]
    assert pixels.shape == (3, SIZE, SIZE)
    assert int(pixels[:, 0].min()) == 255 and int(pixels[:, SIZE // 2].max()) == 0
