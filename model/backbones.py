"""Embedders by backbone name: the Fashion-MNIST CNN and torchvision ResNets (model/registry.py).

A :class:`Embedder` takes uint8 images and returns unit vectors: it normalises as its trunk
expects, pools the trunk's features, and (when fine-tuned) projects them with a small head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from model.precision import autocast
from model.registry import BackboneEntry, BackboneError, Stage, entry


class Embedder(nn.Module):
    """uint8 [N, C, H, W] -> unit vectors [N, D]."""

    def __init__(
        self,
        name: str,
        trunk: nn.Module,
        image_size: int,
        head_dim: int | None = None,
        trunk_args: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.name, self.image_size, self.head_dim = name, image_size, head_dim
        self.trunk_args = trunk_args or {}
        self.entry = entry(name)
        # channels-last runs oneDNN's faster convolutions: 1.45x for ResNet-18 on this CPU.
        self.trunk = trunk.to(memory_format=torch.channels_last)
        self.feature_dim = self.entry.feature_dim or int(getattr(trunk, "embedding_dim", 0))
        shape = (1, self.entry.channels, 1, 1)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(self.entry.mean).view(shape), persistent=False)
        self.register_buffer("std", torch.tensor(self.entry.std).view(shape), persistent=False)
        self.head = nn.Linear(self.feature_dim, head_dim) if head_dim else None
        # Set by whoever loads the model for inference (see model/precision.py); not saved.
        self.bf16 = False

    @property
    def bf16_pays(self) -> bool:
        return self.entry.bf16_pays

    @property
    def channels(self) -> int:
        return self.entry.channels

    @property
    def embedding_dim(self) -> int:
        return self.head_dim or self.feature_dim

    @property
    def batch_size(self) -> int:
        """Images per forward pass: 64 at 224 px, more for smaller images (same activations)."""
        return min(1024, max(1, 64 * 224 * 224 // self.image_size**2))

    def model_args(self) -> dict[str, Any]:
        """What :func:`rebuild` needs: stored in every catalog checkpoint."""
        return {
            "backbone": self.name,
            "image_size": self.image_size,
            "head_dim": self.head_dim,
            "trunk_args": self.trunk_args,
        }

    def normalised(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or float 0-255) pixels as the trunk takes them."""
        x = (images.float() / 255.0 - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.entry.features(self.trunk, self.normalised(images))

    def spatial_features(self, images: torch.Tensor) -> torch.Tensor:
        """[N, C, h, w]: the feature map whose average :meth:`forward_features` is; under
        :attr:`bf16`, computed in bf16 and returned in fp32."""
        with autocast(images.device.type, self.bf16):
            spatial = self.entry.spatial(self.trunk, self.normalised(images))
        return spatial.float()

    def after_pool(self) -> tuple[Stage, ...]:
        """Every stage from the pooled features to the unit vector, the head included."""
        head: tuple[Stage, ...] = (self.head,) if self.head is not None else ()
        return (*self.entry.after_pool(self.trunk), *head, "normalize")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.bf16:
            return self._pooled_path(images)
        z = self.forward_features(images)
        return F.normalize(self.head(z) if self.head is not None else z, dim=1)

    def _pooled_path(self, images: torch.Tensor) -> torch.Tensor:
        """The convolutions in bf16, the rest in fp32: the very steps an explanation splits
        (model/explain.py), so its recomputed score equals the indexed one."""
        z = self.spatial_features(images).mean(dim=(2, 3))
        for stage in self.after_pool():
            z = F.normalize(z, dim=1) if stage == "normalize" else stage(z)
        return z

    def freeze_but_last_block(self) -> list[nn.Parameter]:
        """Freeze the trunk except its last block; return what stays trainable."""
        self.trunk.requires_grad_(False)
        self.entry.last_block(self.trunk).requires_grad_(True)
        return [p for p in self.parameters() if p.requires_grad]


def _torchvision_weights(name: str, e: BackboneEntry) -> Any:
    if e.torchvision_name is None:
        raise BackboneError(
            f"{name} has no ImageNet weights: use --weights with a checkpoint from "
            "`lookalike train`, or none."
        )
    return torchvision.models.get_model_weights(e.torchvision_name).DEFAULT


def _load_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A local weights file -> (trunk state, trunk arguments): a plain state dict
    (torchvision's) or a checkpoint of `lookalike train` (its ``model_args`` rebuild the CNN)."""
    if not path.is_file():
        raise BackboneError(f"no weights file at {path}: pass imagenet, none, or an existing file.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure means the same thing to the user
        raise BackboneError(
            f"{path} is not a weights file torch can load safely ({type(exc).__name__})."
        ) from exc
    state = payload.get("state_dict", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise BackboneError(f"{path} holds no state dict.")
    args = payload.get("model_args", {}) if "state_dict" in payload else {}
    return {k: v for k, v in state.items() if not k.startswith("fc.")}, dict(args)


def create_backbone(
    name: str,
    weights: str = "none",
    image_size: int | None = None,
    head_dim: int | None = None,
    seed: int = 0,
) -> Embedder:
    """A backbone by name. ``weights``: ``imagenet`` (torchvision's weights API, downloaded on
    first use), ``none`` (random init from ``seed``), or the path of a local weights file."""
    e = entry(name)
    state, trunk_args = (
        _load_weights(Path(weights)) if weights not in ("imagenet", "none") else ({}, {})
    )
    if e.torchvision_name is not None:
        trunk_args = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if weights == "imagenet":
            enum = _torchvision_weights(name, e)
            try:
                trunk = e.build(enum, trunk_args)
            except (OSError, RuntimeError) as exc:  # urllib's URLError is an OSError
                raise BackboneError(
                    f"could not get the ImageNet weights of {name} ({exc}): run once where "
                    f"{enum.url} is reachable (torchvision caches it under $TORCH_HOME), or use "
                    "--weights FILE or --weights none."
                ) from exc
        else:
            trunk = e.build(None, trunk_args)
        net = Embedder(name, trunk, image_size or e.image_size, head_dim, trunk_args)
    if state:
        try:
            missing, unexpected = trunk.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # tensors of the wrong shape
            raise BackboneError(
                f"{weights} does not fit {name}: {str(exc).splitlines()[1].strip()}"
            ) from exc
        missing = [k for k in missing if not k.startswith("fc.")]
        if missing or unexpected:
            raise BackboneError(
                f"{weights} does not fit {name}: {len(missing)} missing and "
                f"{len(unexpected)} unexpected tensors (e.g. {(missing or unexpected)[0]})."
            )
    return net.eval()


def rebuild(model_args: dict[str, Any], state_dict: dict[str, torch.Tensor]) -> Embedder:
    """A catalog model from its checkpoint, without downloading anything."""
    e = entry(model_args["backbone"])
    trunk = e.build(None, model_args.get("trunk_args") or {})
    net = Embedder(
        model_args["backbone"],
        trunk,
        model_args["image_size"],
        model_args.get("head_dim"),
        model_args.get("trunk_args"),
    )
    net.load_state_dict(state_dict)
    return net.eval()


def from_checkpoint(payload: dict[str, Any]) -> Embedder:
    """Any Lookalike checkpoint as an :class:`Embedder`: a catalog backbone, or a trained
    Fashion-MNIST network (whose weights become the ``fmnist-cnn`` trunk)."""
    if payload.get("kind") == "catalog":
        return rebuild(payload["model_args"], payload["state_dict"])
    args = {"backbone": "fmnist-cnn", "image_size": 28, "trunk_args": payload["model_args"]}
    return rebuild(args, {f"trunk.{k}": v for k, v in payload["state_dict"].items()})


def embedding_dim(payload: dict[str, Any]) -> int:
    """The vector size a checkpoint's model produces, without building it."""
    args = payload["model_args"]
    if payload.get("kind") != "catalog":
        return int(args["embedding_dim"])
    if args.get("head_dim"):
        return int(args["head_dim"])
    return entry(args["backbone"]).feature_dim or int(args["trunk_args"]["embedding_dim"])
