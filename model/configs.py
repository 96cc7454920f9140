"""Hyperparameters of the models, next to them and free of torch: the settings take their
defaults from here, so each default lives in one place, and the command line need not load
torch to know them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class EmbeddingNetConfig:
    """Architecture arguments, stored in every checkpoint so a model can be rebuilt exactly."""

    embedding_dim: int = 64
    in_channels: int = 1
    width: int = 32
    dropout: float = 0.1
    # Max-pool the stem's conv output before its BatchNorm and ReLU: they then touch a quarter
    # of the pixels (model/net.py says why that is the same net).
    pool_first: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def recorded(cls, args: dict[str, Any]) -> EmbeddingNetConfig:
        """The config a checkpoint recorded. One written before ``pool_first`` existed has no
        such key and pooled after the stem's ReLU."""
        return cls(**{"pool_first": False, **args})


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation hyperparameters. These defaults are the product's (the `default` recipe):
    the settings take theirs from here."""

    epochs: int = 6
    batch_size: int = 256
    lr: float = 4e-3
    weight_decay: float = 5e-4
    scale: float = 16.0
    margin: float = 0.1
    label_smoothing: float = 0.1
    augment: bool = False
    seed: int = 0
    bf16: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    scale: float = 16.0
    margin: float = 0.1
    label_smoothing: float = 0.1
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
