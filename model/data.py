"""Fashion-MNIST: find the files, verify them, load them through torchvision's dataset code."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets import FashionMNIST
from torchvision.datasets.utils import check_integrity

from model.errors import InputError

log = logging.getLogger(__name__)

DATASET = "fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


class DatasetNotFoundError(InputError, RuntimeError):
    """Fashion-MNIST could not be found locally nor downloaded."""


@dataclass(frozen=True)
class Split:
    """One split held as tensors: ``images`` uint8 [N, 28, 28], ``labels`` int64 [N]."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, limit: int | None) -> Split:
        if limit is None or limit >= len(self):
            return self
        return Split(self.name, self.images[:limit], self.labels[:limit])


# MD5 of the uncompressed files as published upstream; Debian re-gzips, so the .gz hashes differ.
RAW_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}


def _has_gz(folder: Path) -> bool:
    return all((folder / f"{name}.gz").is_file() for name in RAW_MD5)


def _has_raw(folder: Path) -> bool:
    return all((folder / name).is_file() for name in RAW_MD5)


def _verify(raw: Path) -> None:
    bad = [name for name, md5 in RAW_MD5.items() if not check_integrity(str(raw / name), md5)]
    if bad:
        raise DatasetNotFoundError(
            f"Fashion-MNIST files in {raw} fail their checksums ({', '.join(bad)}): delete them "
            "and copy the original files again."
        )


def _extract(gz: Path, target: Path) -> None:
    """Decompress under a private name, then rename: processes extracting at once (DDP ranks,
    Dask workers) each see a whole file or none, never another's half-written one."""
    fd, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with gzip.open(gz, "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(part, target)
    finally:
        Path(part).unlink(missing_ok=True)


def _materialise(source: Path, data_dir: Path) -> Path:
    """Extract ``.gz`` files into ``data_dir`` in torchvision's layout, verify, return the root."""
    raw = data_dir / "FashionMNIST" / "raw"
    if not _has_raw(raw):
        raw.mkdir(parents=True, exist_ok=True)
        for name in RAW_MD5:
            if not (raw / name).is_file():
                _extract(source / f"{name}.gz", raw / name)
        log.info("extracted Fashion-MNIST from %s into %s", source, raw)
    _verify(raw)
    return data_dir


def _from_root(root: Path, data_dir: Path) -> Path | None:
    """Both layouts: torchvision's ``root/FashionMNIST/raw`` and a flat folder of files."""
    for folder in (root / "FashionMNIST" / "raw", root):
        if folder.name == "raw" and _has_raw(folder):
            _verify(folder)
            return folder.parent.parent
        if _has_gz(folder):
            return _materialise(folder, data_dir)
    return None


def _download(data_dir: Path) -> Path:
    try:
        FashionMNIST(str(data_dir), train=True, download=True)  # verifies torchvision's md5s
    except Exception as exc:  # any network or checksum failure has the same remedy
        reason = " ".join(str(exc).split())
        raw = data_dir / "FashionMNIST" / "raw"
        raise DatasetNotFoundError(
            f"Fashion-MNIST was not found and could not be downloaded ({reason}). Fix it in one "
            "of three ways: set LOOKALIKE_DATA_ROOT to a folder holding FashionMNIST/raw/*.gz "
            f"(torchvision's layout) or the four .gz files; copy the files into {raw}; or "
            "install Debian's package `dataset-fashion-mnist`."
        ) from exc
    return data_dir


def resolve_root(
    data_root: Path | None, data_dir: Path, debian_dir: Path = DEBIAN_DIR, download: bool = True
) -> Path:
    """Return a root that torchvision's ``FashionMNIST`` loads without downloading.

    Order: the configured ``data_root``; the project's ``data_dir``; Debian's package folder;
    torchvision's download into ``data_dir``.
    """
    if data_root is not None:
        found = _from_root(data_root.expanduser().resolve(), data_dir)
        if found is None:
            raise DatasetNotFoundError(
                f"LOOKALIKE_DATA_ROOT={data_root} holds no Fashion-MNIST files: point it at the "
                "folder that contains FashionMNIST/raw/ (or at the four .gz files), or unset it."
            )
        return found
    for root in (data_dir, debian_dir):
        found = _from_root(root, data_dir)
        if found is not None:
            return found
    if not download:
        raise DatasetNotFoundError(
            f"Fashion-MNIST is not in {data_dir} nor in {debian_dir}, and downloading is off: set "
            "LOOKALIKE_DATA_ROOT, copy the files into the data directory, or install Debian's "
            "`dataset-fashion-mnist`."
        )
    return _download(data_dir)


def load_split(root: Path, split: str) -> Split:
    """Load ``train`` or ``test`` from a root returned by :func:`resolve_root`."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    ds = FashionMNIST(str(root), train=split == "train", download=False)
    return Split(split, ds.data.contiguous(), ds.targets.long())


def fingerprint(*splits: Split) -> str:
    """A short content hash of the images and labels, so checkpoints say what they saw."""
    h = hashlib.sha256()
    for s in splits:
        h.update(s.name.encode())
        h.update(s.images.numpy().tobytes())
        h.update(s.labels.numpy().tobytes())
    return h.hexdigest()[:16]
