"""A base that validates inputs once, so each loss only implements ``compute``."""

from __future__ import annotations

import torch
from torch import nn


class EmbeddingLoss(nn.Module):
    """Takes ``(embeddings [N, D], labels [N])`` and returns a scalar loss."""

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if embeddings.ndim != 2:
            raise ValueError(f"embeddings must be [N, D], got shape {tuple(embeddings.shape)}")
        if labels.shape != embeddings.shape[:1]:
            raise ValueError(
                f"labels must be [N] with N={embeddings.shape[0]}, got shape {tuple(labels.shape)}"
            )
        return self.compute(embeddings, labels.long())

    def compute(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
