"""Fashion-MNIST as a source: 60,000 train and 10,000 test items held in torchvision's idx files.

Each item's payload keeps the fields Lookalike has always written (``item_id`` ``train-7``,
``index``, ``label``, ``label_name``, ``split``), so collections built before stay up to date.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from catalogs.base import Item
from model.data import Split, load_split
from model.labels import LABEL_NAMES

SPLITS = ("train", "test")


@functools.lru_cache(maxsize=4)
def split_of(root: str, name: str) -> Split:
    """One whole split, parsed once per process; the tensors are never changed in place."""
    return load_split(Path(root), name)


def load_splits(root: str, train_limit: int | None, test_limit: int | None) -> tuple[Split, Split]:
    """Both splits, cut to the configured limits."""
    return split_of(root, "train").head(train_limit), split_of(root, "test").head(test_limit)


def items_of(*splits: Split) -> list[Item]:
    return [
        Item(f"{s.name}-{i}", s.name, str(i), LABEL_NAMES[label], {"index": i})
        for s in splits
        for i, label in enumerate(s.labels.tolist())
    ]


class SplitImages(Dataset[tuple[torch.Tensor, int]]):
    """Items as ``(uint8 [1, 28, 28], label number)``, read from the split tensors."""

    def __init__(self, root: str, items: list[Item]) -> None:
        self.splits = {name: split_of(root, name) for name in {i.split for i in items}}
        self.refs = [(i.split, int(i.key)) for i in items]
        self.labels = [LABEL_NAMES.index(i.label) if i.label else -1 for i in items]
        # Per split: which batch rows come from it, and their rows in the split's tensor.
        names = sorted(self.splits)
        self._split_no = torch.tensor([names.index(s) for s, _ in self.refs])
        self._row = torch.tensor([row for _, row in self.refs])
        self._names = names

    def __getitems__(self, positions: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """A whole batch by tensor indexing: the DataLoader asks for batches this way, and a
        per-item read and stack cost a tenth of the indexing throughput."""
        where = torch.tensor(positions)
        out = torch.empty((len(positions), 1, 28, 28), dtype=torch.uint8)
        for n, name in enumerate(self._names):
            mask = self._split_no[where] == n
            out[mask, 0] = self.splits[name].images[self._row[where[mask]]]
        return out, torch.tensor([self.labels[p] for p in positions])

    @staticmethod
    def collate(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`__getitems__` already returns a batch."""
        return batch

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        split, index = self.refs[i]
        return self.splits[split].images[index][None], self.labels[i]


def pixels_of(root: str, items: list[Item]) -> np.ndarray:
    """uint8 [N, 784]: the items' raw pixels in the items' order, one split at a time."""
    out = np.empty((len(items), 28 * 28), dtype=np.uint8)
    for name in {i.split for i in items}:
        positions = [p for p, i in enumerate(items) if i.split == name]
        rows = torch.tensor([int(items[p].key) for p in positions], dtype=torch.long)
        out[positions] = split_of(root, name).images[rows].reshape(len(rows), -1).numpy()
    return out


def thumbnail(root: str, item: Item, scale: int = 3) -> np.ndarray:
    """uint8 [28 * scale, 28 * scale, 3], enlarged by nearest neighbour (not blurred)."""
    gray = split_of(root, item.split).images[int(item.key)].numpy()
    big = gray.repeat(scale, axis=0).repeat(scale, axis=1)
    return np.repeat(big[..., None], 3, axis=2)
