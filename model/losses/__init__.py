"""Metric-learning losses, one per file, shaped like pytorch-metric-learning's."""

from model.losses.base import EmbeddingLoss
from model.losses.cosine import CosineClassifierLoss

__all__ = ["CosineClassifierLoss", "EmbeddingLoss"]
