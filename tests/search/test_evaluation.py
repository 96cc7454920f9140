"""Evaluation through the store, with the raw-pixel baselines and the copies between splits.

A tiny Fashion-MNIST of its own (idx files torchvision reads) plants two test items that are
copies of train items in pixels, in an index whose "learned" space pulls every class together
the way a metric-learning model does: a copy is found in pixels, whatever the learned cosine.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from catalogs.base import SourceInfo
from catalogs.sample import write_sample_catalog
from catalogs.scan import load_items, scan_fashion_mnist, scan_files
from infra.store import PointBatch, VectorStore
from infra.store.base import CollectionSpec
from model.data import Split
from model.metrics import l2_normalise
from search import baselines, evaluation
from search.indexing import expected_payloads, point_ids

TRAIN, TEST, DIM = 40, 10, 16
COPIED = {0: 5, 1: 7}  # test item -> the train item it copies


def _idx(path: Path, magic: int, array: np.ndarray) -> None:
    path.write_bytes(struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape))
    with path.open("ab") as f:
        f.write(array.astype(np.uint8).tobytes())


def _fake_fashion_mnist(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random garments (a random silhouette of random texture), two test items copied from the
    train items with a little noise: torchvision's raw layout under ``root``."""
    rng = np.random.default_rng(0)

    def garments(n: int) -> np.ndarray:
        shape = rng.random((n, 28, 28)) < 0.5
        return (shape * rng.integers(40, 256, (n, 28, 28))).astype(np.uint8)

    train, test = garments(TRAIN), garments(TEST)
    y_train, y_test = rng.integers(0, 10, TRAIN), rng.integers(0, 10, TEST)
    for t, r in COPIED.items():
        noise = rng.integers(-2, 3, (28, 28))
        test[t] = np.clip(train[r].astype(int) + noise, 0, 255)
        y_test[t] = y_train[r]
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    _idx(raw / "train-images-idx3-ubyte", 0x803, train)
    _idx(raw / "train-labels-idx1-ubyte", 0x801, y_train)
    _idx(raw / "t10k-images-idx3-ubyte", 0x803, test)
    _idx(raw / "t10k-labels-idx1-ubyte", 0x801, y_test)
    return train, y_train, test, y_test


@pytest.fixture
def source(tmp_path: Path) -> SourceInfo:
    _fake_fashion_mnist(tmp_path / "data")
    return scan_fashion_mnist(tmp_path / "data", None, None, tmp_path / "scan")


def _index(store: VectorStore, source: SourceInfo) -> str:
    """Each item's "learned" vector is its class's direction plus a little noise: classmates at
    cosine 0.99 and more, as a margin loss makes them."""
    items = load_items(source)
    rng = np.random.default_rng(1)
    centres = l2_normalise(rng.standard_normal((10, DIM)))
    labels = [source.labels.index(str(i.label)) for i in items]
    vectors = l2_normalise(centres[labels] + 0.01 * rng.standard_normal((len(items), DIM)))
    store.ensure_collection(CollectionSpec("fm", DIM))
    payloads = expected_payloads(source, items, "v1")
    store.upsert("fm", PointBatch(point_ids("toy", items), vectors.astype(np.float32), payloads))
    store.finalize("fm")
    return "fm"


def test_copies_are_found_in_pixels_and_counted_whole(
    store: VectorStore, source: SourceInfo
) -> None:
    metrics = evaluation.evaluate(store, _index(store, source), "toy", source)
    # Every test item has a classmate at cosine >= 0.99 in the learned space; a leak measured
    # there would count all ten. Only the two planted copies are copies.
    count = metrics[baselines.COPIES]
    assert count == len(COPIED) and isinstance(count, int)
    assert not [k for k in metrics if "leak" in k]
    assert metrics["precision_at_1"] == 1.0 and metrics["precision_at_1_without_copies"] == 1.0
    # Raw pixels find the two copies and little else (random garments have no classmates).
    assert metrics["pixels_precision_at_1"] >= len(COPIED) / TEST
    assert "pixels_recall_at_10" in metrics and "pixels_precision_at_1_without_copies" in metrics


def test_pixel_baseline_marks_the_queries_with_a_copy(tmp_path: Path) -> None:
    train, y_train, test, y_test = _fake_fashion_mnist(tmp_path)
    px = baselines.Pixels(train.reshape(TRAIN, -1), y_train, test.reshape(TEST, -1), y_test)
    metrics, copied = baselines.pixel_baseline(px)
    assert np.flatnonzero(copied).tolist() == sorted(COPIED)
    assert metrics["precision_at_1"] == pytest.approx(np.mean(y_test == y_train[_nearest(px)]))
    kept = ~copied
    p1 = np.mean(y_test[kept] == y_train[_nearest(px)][kept])
    assert metrics["precision_at_1_without_copies"] == pytest.approx(p1)


def _nearest(px: baselines.Pixels) -> np.ndarray:
    index = l2_normalise(px.index.astype(np.float64))
    return np.argmax(l2_normalise(px.queries.astype(np.float64)) @ index.T, axis=1)


def test_embedding_table_rows_for_pixels_only(store: VectorStore, source: SourceInfo) -> None:
    table = evaluation.embedding_table(store, _index(store, source), "toy", source)
    assert list(table) == ["learned", "raw pixels", f"PCA-{baselines.PCA_DIM}"]
    assert table["learned"]["precision_at_1"] == 1.0 and "map_at_r" in table["raw pixels"]


def test_a_catalog_is_measured_leave_one_out_without_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28)).astype(np.uint8)
    split = Split("test", torch.from_numpy(images), torch.arange(12) % 3)
    write_sample_catalog(split, tmp_path / "shop", n=12, size=32, broken=False)
    catalog = scan_files(tmp_path / "shop", tmp_path / "scan")
    plan = evaluation.measure(load_items(catalog))
    assert plan is not None and not plan.across_splits and len(plan.answers) == 12
    with pytest.raises(ValueError, match="Fashion-MNIST's only"):
        evaluation.embedding_table(None, "fm", "toy", catalog)  # type: ignore[arg-type]
