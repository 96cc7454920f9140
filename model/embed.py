"""Embedding extraction: uint8 images in, float32 unit vectors out, batch by batch."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from model.augment import normalise
from model.net import EmbeddingNet


@torch.inference_mode()
def iter_embeddings(
    model: EmbeddingNet,
    images: torch.Tensor,
    batch_size: int = 1024,
    device: torch.device | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(offset, vectors [B, D] float32)`` so callers can stream to a store."""
    device = device or next(model.parameters()).device
    model.eval()
    for start in range(0, images.shape[0], batch_size):
        x = normalise(images[start : start + batch_size].to(device))
        z = model(x.contiguous(memory_format=torch.channels_last))
        yield start, z.float().cpu().numpy()


def embed_all(model: EmbeddingNet, images: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """All embeddings at once, for small sets and tests."""
    parts = [v for _, v in iter_embeddings(model, images, batch_size)]
    if not parts:
        return np.zeros((0, model.embedding_dim), dtype=np.float32)
    return np.concatenate(parts)


@torch.inference_mode()
def iter_dataset_embeddings(
    model: nn.Module,
    data: Dataset[tuple[torch.Tensor, int]],
    batch_size: int = 64,
    num_workers: int = 0,
    seconds: dict[str, float] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Reader -> model: decode items through a DataLoader and embed them batch by batch.

    ``seconds`` (if given) accumulates the time spent waiting for images ("read") and in the
    forward pass ("model"), so a caller can see which stage bounds throughput.
    """
    seconds = seconds if seconds is not None else {}
    device = next(model.parameters()).device
    model.eval()
    # A dataset that reads whole batches itself says how to collate them.
    collate = getattr(data, "collate", None)
    loader = DataLoader(data, batch_size=batch_size, num_workers=num_workers, collate_fn=collate)
    offset, tick = 0, time.perf_counter()
    for images, _ in loader:
        got = time.perf_counter()
        z = model(images.to(device)).float().cpu().numpy()
        done = time.perf_counter()
        seconds["read"] = seconds.get("read", 0.0) + got - tick
        seconds["model"] = seconds.get("model", 0.0) + done - got
        yield offset, z
        offset += len(z)
        tick = time.perf_counter()
