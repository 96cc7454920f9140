"""The model that embeds a catalog of product photos: a backbone off the shelf, or fine-tuned on
the catalog labels, cached by backbone, weights, recipe and (fine-tuned) the catalog.

Plain functions: ``tasks.training`` wraps them as Prefect tasks."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from catalogs.base import SourceInfo
from catalogs.scan import images, load_items
from infra.checkpoints import (
    ModelRef,
    find_cached,
    model_version,
    register_cached,
    save_checkpoint,
)
from infra.settings import Settings
from infra.settings.training import BackboneSettings, TrainSettings
from infra.tensorboard import TensorBoardSink
from model.backbones import Embedder, create_backbone
from model.finetune import FineTuneConfig, finetune
from model.registry import BackboneError
from model.train import pick_device
from training.runs import load_embedder, new_tb_dir, public_config

log = logging.getLogger(__name__)


def _weights_id(weights: str) -> str:
    if weights in ("imagenet", "none"):
        return weights
    if not Path(weights).is_file():
        raise BackboneError(f"no weights file at {weights}: pass imagenet, none, or a file.")
    stat = Path(weights).stat()
    return f"{Path(weights).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def finetune_config(embedder: BackboneSettings, train: TrainSettings) -> FineTuneConfig:
    return FineTuneConfig(
        epochs=embedder.finetune_epochs,
        batch_size=embedder.finetune_batch_size,
        lr=embedder.finetune_lr,
        scale=1.0 / train.temperature,
        seed=train.seed,
    )


def model_key(settings: Settings, info: SourceInfo) -> str:
    """Cache key of a catalog model: backbone, weights, recipe and the catalog's contents."""
    spec: dict[str, Any] = {
        "backbone": settings.embedder.backbone,
        "weights": _weights_id(settings.embedder.weights),
        "image_size": settings.embedder.image_size,
        "mode": settings.embedder.catalog_mode,
        "seed": settings.train.seed,
    }
    if settings.embedder.catalog_mode == "fine-tuned":
        spec |= {
            "head_dim": settings.embedder.head_dim,
            "finetune": finetune_config(settings.embedder, settings.train).to_dict(),
            "catalog": info.fingerprint,
        }
    return "catalog-" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _save(settings: Settings, net: Embedder, extra: dict[str, Any]) -> Path:
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    version = model_version(state, net.model_args())
    path = settings.checkpoint_dir / f"{version}.pt"
    if path.is_file():
        return path
    payload = {"state_dict": state, "model_args": net.model_args(), "kind": "catalog", **extra}
    return save_checkpoint(settings.checkpoint_dir, payload)


def _ref(path: Path, net: Embedder, seconds: float, device: str, tb: str, cached: bool) -> ModelRef:
    return ModelRef(str(path), path.stem, net.embedding_dim, seconds, device, tb, cached)


def catalog_model(settings: Settings, info: SourceInfo) -> ModelRef:
    """The backbone as configured, fine-tuned when asked; its checkpoint is reused when the
    backbone, weights, recipe and (for fine-tuning) the catalog are unchanged."""
    key = model_key(settings, info)
    cached = None if settings.train.retrain else find_cached(settings.checkpoint_dir, key)
    if cached is not None:
        net = load_embedder(str(cached))
        return _ref(cached, net, 0.0, "cpu", "", cached=True)
    fine = settings.embedder.catalog_mode == "fine-tuned"
    net = create_backbone(
        settings.embedder.backbone,
        settings.embedder.weights,
        settings.embedder.image_size,
        settings.embedder.head_dim if fine else None,
        settings.train.seed,
    )
    device = pick_device(settings.train.device)
    extra: dict[str, Any] = {
        "weights": settings.embedder.weights,
        "mode": settings.embedder.catalog_mode,
    }
    seconds, tb = 0.0, ""
    if fine:
        tb_dir = new_tb_dir(settings)
        data = images(info, load_items(info), net.image_size, net.channels)
        with TensorBoardSink(tb_dir) as sink:
            result = finetune(
                net.to(device),
                data,
                len(info.labels),
                finetune_config(settings.embedder, settings.train),
                sink,
            )
        seconds, tb = result.seconds, str(tb_dir)
        extra |= {
            "history": result.history,
            "train_seconds": seconds,
            "catalog_fingerprint": info.fingerprint,
            "labels": info.labels,
            "config": public_config(settings),
        }
    path = _save(settings, net.cpu(), extra)
    register_cached(settings.checkpoint_dir, key, path)
    log.info(
        "catalog model %s (%s, %s)",
        path.stem,
        settings.embedder.backbone,
        settings.embedder.catalog_mode,
    )
    return _ref(path, net, seconds, str(device), tb, cached=False)
