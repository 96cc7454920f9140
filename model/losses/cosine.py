"""Normalised-softmax (cosine classifier) loss, with an optional CosFace-style additive margin."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.losses.base import EmbeddingLoss


class CosineClassifierLoss(EmbeddingLoss):
    """Cross-entropy over ``scale * (cos(z, w_c) - margin * [c == y])``.

    Class weights live on the unit sphere like the embeddings, so the classifier can only
    separate classes by angle: exactly what cosine retrieval needs later. The temperature is
    ``1 / scale``.
    """

    def __init__(
        self,
        num_classes: int,
        embedding_dim: int,
        scale: float = 16.0,
        margin: float = 0.0,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.margin = margin
        self.label_smoothing = label_smoothing
        self.weight = nn.Parameter(torch.randn(num_classes, embedding_dim) * 0.01)

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.normalize(embeddings, dim=1) @ F.normalize(self.weight, dim=1).t()

    def compute(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.logits(embeddings)
        if self.margin:
            cos = cos - self.margin * F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return F.cross_entropy(self.scale * cos, labels, label_smoothing=self.label_smoothing)
