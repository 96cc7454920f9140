"""Embedding extraction: uint8 images in, float32 unit vectors out, batch by batch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

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
