"""Data resolution, on the real files laid out the ways users have them."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from torchvision.datasets import FashionMNIST

from infra.settings import Settings
from model.data import (
    RAW_MD5,
    DatasetNotFoundError,
    fingerprint,
    load_split,
    resolve_root,
)


@pytest.fixture(scope="module")
def gz_dir(data_root: Path) -> Path:
    """A folder holding the four published .gz files, wherever the run found them."""
    settings = Settings()
    root = settings.data.data_root
    configured = [root / "FashionMNIST" / "raw", root] if root else []
    for folder in (
        *configured,
        data_root / "FashionMNIST" / "raw",
        settings.data.debian_data_dir,
        settings.data_dir / "FashionMNIST" / "raw",
    ):
        if all((folder / f"{name}.gz").is_file() for name in RAW_MD5):
            return folder
    pytest.skip("no folder holds Fashion-MNIST's .gz files (only extracted ones were found)")


def _flat_copy(src: Path, dst: Path) -> Path:
    """Symlinks to the four .gz files in a flat folder, as Debian's package lays them out."""
    dst.mkdir(parents=True)
    for name in RAW_MD5:
        (dst / f"{name}.gz").symlink_to(src / f"{name}.gz")
    return dst


def test_configured_root_in_torchvision_layout_loads(data_root: Path, tmp_path: Path) -> None:
    root = resolve_root(data_root, tmp_path / "data", tmp_path / "no-debian", download=False)
    train = load_split(root, "train").head(100)
    assert train.images.shape == (100, 28, 28)
    assert train.labels[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert len(load_split(root, "test")) == 10_000


def test_project_dir_comes_before_debian(gz_dir: Path, tmp_path: Path) -> None:
    project = tmp_path / "data"
    _flat_copy(gz_dir, project / "FashionMNIST" / "raw")
    debian = tmp_path / "debian"  # absent: must not be needed
    assert resolve_root(None, project, debian, download=False) == project


def test_debian_flat_layout_is_found(gz_dir: Path, tmp_path: Path) -> None:
    debian = _flat_copy(gz_dir, tmp_path / "debian")
    root = resolve_root(None, tmp_path / "data", debian, download=False)
    assert root == tmp_path / "data"
    assert len(load_split(root, "train")) == 60_000


def test_configured_root_without_files_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="LOOKALIKE_DATA_ROOT"):
        resolve_root(tmp_path, tmp_path / "data", tmp_path / "debian")


def test_offline_with_nothing_found_names_the_three_remedies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A closed local port stands in for "no internet", whatever machine runs the test.
    monkeypatch.setattr(FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(DatasetNotFoundError) as err:
        resolve_root(None, tmp_path / "data", tmp_path / "debian", download=True)
    text = str(err.value)
    assert "LOOKALIKE_DATA_ROOT" in text
    assert str(tmp_path / "data") in text
    assert "dataset-fashion-mnist" in text
    assert "\n" not in text


def test_corrupt_files_fail_their_checksums(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in RAW_MD5:
        (flat / f"{name}.gz").write_bytes(gzip.compress(b"garbage"))
    with pytest.raises(DatasetNotFoundError, match="fail their checksums"):
        resolve_root(flat, tmp_path / "data", tmp_path / "debian")


def test_fingerprint_depends_on_the_slice(data_root: Path, tmp_path: Path) -> None:
    root = resolve_root(data_root, tmp_path / "data", tmp_path / "debian", download=False)
    train = load_split(root, "train")
    assert fingerprint(train.head(10)) == fingerprint(train.head(10))
    assert fingerprint(train.head(10)) != fingerprint(train.head(11))


def test_processes_extracting_at_once_never_read_a_half_written_file(
    gz_dir: Path, tmp_path: Path
) -> None:
    # DDP ranks resolve the data at the same moment; one used to verify the other's partial file.
    def resolve(_: int) -> Path:
        return resolve_root(gz_dir, tmp_path / "data", tmp_path / "no-debian", download=False)

    with ThreadPoolExecutor(4) as pool:
        roots = list(pool.map(resolve, range(4)))
    assert roots == [tmp_path / "data"] * 4
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(RAW_MD5)


def test_label_names_are_torchvisions() -> None:
    from torchvision.datasets import FashionMNIST

    from model.labels import LABEL_NAMES

    assert list(LABEL_NAMES) == FashionMNIST.classes
