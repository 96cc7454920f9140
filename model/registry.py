"""The backbones Lookalike knows, by name: how to build each trunk, where its features come
from, what follows the pooling, and the input it expects. :class:`model.backbones.Embedder`
wraps any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

import torch
import torchvision
from torch import nn
from torchvision.models import ResNet

from model.augment import MEAN as FMNIST_MEAN
from model.augment import STD as FMNIST_STD
from model.configs import EmbeddingNetConfig
from model.errors import InputError
from model.net import EmbeddingNet

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BackboneError(InputError):
    """A backbone or its weights cannot be created."""


def _resnet_spatial(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """torchvision's ResNet.forward up to layer4's feature map (before pooling and fc)."""
    net = cast(ResNet, module)
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return cast(torch.Tensor, net.layer4(net.layer3(net.layer2(net.layer1(x)))))


def _resnet_features(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pooled pre-logits features (no fc)."""
    return torch.flatten(cast(ResNet, module).avgpool(_resnet_spatial(module, x)), 1)


def _fmnist_spatial(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return cast(EmbeddingNet, module).spatial_features(x)


def _fmnist_after_pool(module: nn.Module) -> tuple[Stage, ...]:
    # The CNN's own projection and unit norm (its dropout is off in eval).
    return (cast(EmbeddingNet, module).projection, "normalize")


def _resnet(arch: str) -> Callable[[Any, dict[str, Any]], nn.Module]:
    def build(weights: Any, trunk_args: dict[str, Any]) -> nn.Module:
        net: nn.Module = torchvision.models.get_model(arch, weights=weights)
        return net

    return build


def _layer4(module: nn.Module) -> nn.Module:
    return cast(ResNet, module).layer4


def _fmnist(weights: Any, trunk_args: dict[str, Any]) -> nn.Module:
    return EmbeddingNet(EmbeddingNetConfig.recorded(trunk_args))


# What a trunk does to its average-pooled features before the Embedder's own head: linear
# maps and unit norms, each of which keeps the pooled vector a sum over feature-map positions.
Stage = nn.Linear | Literal["normalize"]


@dataclass(frozen=True)
class BackboneEntry:
    build: Callable[[Any, dict[str, Any]], nn.Module]  # weights enum (or None), args -> trunk
    features: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    # The map ``features`` average-pools, and what follows the pooling: see model/explain.py.
    spatial: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    after_pool: Callable[[nn.Module], tuple[Stage, ...]]
    last_block: Callable[[nn.Module], nn.Module]  # what fine-tuning unfreezes
    feature_dim: int | None  # None: the trunk's own embedding_dim
    channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    torchvision_name: str | None = None
    # Whether ``auto`` embeds in bf16 where the machine computes it (model/precision.py).
    # Measured: ResNet-18 at 224 px 1.9x faster; the Fashion-MNIST CNN saves a few seconds
    # over 70,000 items but loses 0.001 of precision@1, its vectors at cosine 0.9990 to fp32.
    bf16_pays: bool = False


BACKBONES: dict[str, BackboneEntry] = {
    "fmnist-cnn": BackboneEntry(
        _fmnist,
        lambda n, x: n(x),
        _fmnist_spatial,
        _fmnist_after_pool,
        lambda n: n,
        None,
        1,
        28,
        (FMNIST_MEAN,),
        (FMNIST_STD,),
    ),
    "resnet18": BackboneEntry(
        _resnet("resnet18"),
        _resnet_features,
        _resnet_spatial,
        lambda n: (),
        _layer4,
        512,
        3,
        224,
        IMAGENET_MEAN,
        IMAGENET_STD,
        "resnet18",
        bf16_pays=True,
    ),
    "resnet50": BackboneEntry(
        _resnet("resnet50"),
        _resnet_features,
        _resnet_spatial,
        lambda n: (),
        _layer4,
        2048,
        3,
        224,
        IMAGENET_MEAN,
        IMAGENET_STD,
        "resnet50",
        bf16_pays=True,
    ),
}


def entry(name: str) -> BackboneEntry:
    if name not in BACKBONES:
        raise BackboneError(f"unknown backbone {name!r}; known backbones: {', '.join(BACKBONES)}")
    return BACKBONES[name]
