"""The training sections of Lookalike's settings: the CNN and the transfer-learning backbone."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from infra.settings.sections import Section
from model.configs import EmbeddingNetConfig, FineTuneConfig, TrainConfig


class TrainSettings(Section):
    """Training the Fashion-MNIST network: the recipe and its hyperparameters."""

    recipe: Literal["auto", "fast", "default", "amx", "gpu"] = Field(
        default="auto",
        description="Named training preset (fast: CI slice; default: a CPU; amx: a CPU with "
        "AMX training in bf16, 8 epochs; gpu: wider, augmented, more epochs). auto: gpu when "
        "training on CUDA, amx on such a CPU, else default. Settings given explicitly win "
        "over the preset.",
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="Training and embedding precision. auto: bf16 autocast where the hardware "
        "computes bf16 (a CPU with AMX or AVX-512 BF16, a GPU with bf16), else fp32.",
    )
    resume: bool = Field(
        default=True,
        description="Continue an interrupted training run from its last epoch checkpoint.",
    )
    embedding_dim: int = Field(
        default=EmbeddingNetConfig.embedding_dim, ge=2, le=4096, description="Embedding dimension."
    )
    width: int = Field(
        default=EmbeddingNetConfig.width, ge=4, description="Channels of the first conv stage."
    )
    epochs: int = Field(default=TrainConfig.epochs, ge=1, description="Training epochs.")
    batch_size: int = Field(
        default=TrainConfig.batch_size, ge=2, description="Training batch size."
    )
    lr: float = Field(
        default=TrainConfig.lr, gt=0, description="Peak learning rate (one-cycle schedule)."
    )
    weight_decay: float = Field(
        default=TrainConfig.weight_decay, ge=0, description="AdamW weight decay."
    )
    temperature: float = Field(
        default=1 / TrainConfig.scale,
        gt=0,
        description="Softmax temperature of the cosine classifier.",
    )
    margin: float = Field(
        default=TrainConfig.margin,
        ge=0,
        lt=1,
        description="CosFace additive margin on the true class cosine.",
    )
    label_smoothing: float = Field(
        default=TrainConfig.label_smoothing, ge=0, lt=1, description="Label smoothing."
    )
    augment: bool = Field(
        default=TrainConfig.augment,
        description="Random crop and flip while training (pays off only past ~10 epochs).",
    )
    seed: int = Field(
        default=TrainConfig.seed, description="Random seed for weights, batches and augmentation."
    )
    device: str = Field(default="auto", description="'auto' (CUDA if present), 'cpu' or 'cuda'.")
    num_threads: int | None = Field(default=None, ge=1, description="Torch CPU threads.")
    projector_sample: int = Field(
        default=2000, ge=0, description="Test items in TensorBoard's embedding projector (0: none)."
    )
    retrain: bool = Field(
        default=False,
        description="Train even when a checkpoint of the same config and data exists.",
    )


class BackboneSettings(Section):
    """The model of a product catalog: a backbone off the shelf or fine-tuned."""

    backbone: str = Field(
        default="resnet18",
        description="Catalog backbone: resnet18, resnet50 (RGB, ImageNet-normalised) or "
        "fmnist-cnn.",
    )
    weights: str = Field(
        default="imagenet",
        description="Catalog backbone weights: imagenet (downloaded once by torchvision), none "
        "(random init from the seed), or the path of a local weights file.",
    )
    catalog_mode: Literal["off-the-shelf", "fine-tuned"] = Field(
        default="off-the-shelf",
        description="off-the-shelf: pooled backbone features, no training; fine-tuned: a "
        "metric-learning head trained on the catalog labels with the last block unfrozen.",
    )
    image_size: int | None = Field(
        default=None, ge=16, description="Catalog image side in pixels. Unset: the backbone's."
    )
    head_dim: int = Field(default=128, ge=2, description="Embedding size of a fine-tuned head.")
    finetune_epochs: int = Field(
        default=FineTuneConfig.epochs, ge=1, description="Fine-tuning epochs."
    )
    finetune_lr: float = Field(
        default=FineTuneConfig.lr, gt=0, description="Fine-tuning peak learning rate."
    )
    finetune_batch_size: int = Field(
        default=FineTuneConfig.batch_size, ge=2, description="Fine-tuning batch size."
    )
