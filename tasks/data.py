"""Data tasks: resolve and fingerprint Fashion-MNIST once per run."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from prefect import task

from infra.settings import Settings
from model.data import Split, fingerprint, load_split, resolve_root


@dataclass(frozen=True)
class DataInfo:
    root: str
    fingerprint: str
    train_size: int
    test_size: int


@functools.lru_cache(maxsize=4)
def _split(root: str, split: str) -> Split:
    # Each task would otherwise parse the files again; the tensors are never changed in place.
    return load_split(Path(root), split)


def load_splits(settings: Settings, root: str) -> tuple[Split, Split]:
    """Both splits, cut to the configured limits (parsed once per process)."""
    train = _split(root, "train").head(settings.train_limit)
    test = _split(root, "test").head(settings.test_limit)
    return train, test


@task(name="prepare-data", retries=1, retry_delay_seconds=5, timeout_seconds=3600)
def prepare_data(settings: Settings) -> DataInfo:
    """Find (or download) the data set, verify it, and fingerprint the slice this run uses."""
    root = resolve_root(
        settings.data_root, settings.data_dir, settings.debian_data_dir, download=settings.download
    )
    train, test = load_splits(settings, str(root))
    return DataInfo(str(root), fingerprint(train, test), len(train), len(test))
