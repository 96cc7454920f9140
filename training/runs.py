"""A training run of the Fashion-MNIST network, as the pipeline runs it: reuse a cached
checkpoint, resume an interrupted run, write curves, the projector and the checkpoint.

Plain functions: ``tasks.training`` wraps them as Prefect tasks."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from catalogs.base import SourceInfo
from catalogs.fashion_mnist import load_splits
from infra.checkpoints import (
    ModelRef,
    find_cached,
    load_checkpoint,
    load_partial,
    register_cached,
    save_checkpoint,
    save_partial,
)
from infra.settings import Settings
from infra.settings.training import TrainSettings
from infra.tensorboard import TensorBoardSink
from model.backbones import Embedder, embedding_dim, from_checkpoint
from model.configs import EmbeddingNetConfig, TrainConfig
from model.data import Split
from model.embed import embed_all
from model.labels import LABEL_NAMES
from model.net import EmbeddingNet
from model.precision import Machine, Precision, chosen, this_machine
from model.train import TrainResult, TrainState, pick_device, train

log = logging.getLogger(__name__)


def net_config(train: TrainSettings) -> EmbeddingNetConfig:
    return EmbeddingNetConfig(embedding_dim=train.embedding_dim, width=train.width)


def train_config(train: TrainSettings, precision: Precision) -> TrainConfig:
    return TrainConfig(
        epochs=train.epochs,
        batch_size=train.batch_size,
        lr=train.lr,
        weight_decay=train.weight_decay,
        scale=1.0 / train.temperature,
        margin=train.margin,
        label_smoothing=train.label_smoothing,
        augment=train.augment,
        seed=train.seed,
        bf16=precision.bf16,
    )


def public_config(settings: Settings) -> dict[str, Any]:
    """The full config for a checkpoint, secrets left out."""
    return settings.public()


def training_key(train: TrainSettings, precision: Precision, fingerprint: str) -> str:
    """Cache key of a training run: architecture, recipe, precision and data, never tensors.
    The precision is part of it because a bf16 run does not give an fp32 run's weights."""
    spec = {
        "net": net_config(train).to_dict(),
        "train": train_config(train, precision).to_dict(),
        "data": fingerprint,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def load_embedder(
    checkpoint: str, device: torch.device | None = None, bf16: bool = False
) -> Embedder:
    """Any checkpoint's model (trained here or a catalog backbone), in eval mode, embedding in
    bf16 or fp32 whatever it was trained in; loaded once per process, device and precision."""
    return _load(checkpoint, str(device or torch.device("cpu")), bf16)


@functools.lru_cache(maxsize=4)
def _load(checkpoint: str, device: str, bf16: bool) -> Embedder:
    net = from_checkpoint(load_checkpoint(Path(checkpoint))).to(torch.device(device))
    net.bf16 = bf16
    return net


def write_projector(sink: TensorBoardSink, model: EmbeddingNet, split: Split, n: int) -> int:
    """Put the first ``n`` items of ``split`` in TensorBoard's projector; return how many."""
    part = split.head(n) if n else None
    if part is None or len(part) == 0:
        return 0
    vectors = torch.from_numpy(embed_all(model, part.images))
    thumbs = part.images[:, None].float() / 255.0
    meta = [[LABEL_NAMES[int(y)], part.name, f"{part.name}-{i}"] for i, y in enumerate(part.labels)]
    sink.projector(vectors, thumbs, meta, ["label_name", "split", "item_id"], "items")
    return len(part)


def new_tb_dir(settings: Settings) -> Path:
    return settings.runs_dir / "tensorboard" / time.strftime("%Y%m%d-%H%M%S")


def train_fashion_mnist(
    settings: Settings, data: SourceInfo, device: torch.device | None = None
) -> ModelRef:
    """Train the embedding network and save a checkpoint under the checkpoint directory.

    A checkpoint trained with the same architecture, recipe and data is reused unless
    ``settings.train.retrain`` is set. Under torchrun (``app.ddp``) every process runs this
    on its ``device``: each trains on its share of each batch, the first writes the curves,
    the partial state and the checkpoint, and all return its reference.
    """
    device = device or pick_device(settings.train.device)
    precision = chosen(settings.train.precision, device)
    settings = settings.for_training_on(machine_recipe(this_machine(device), device, precision))
    key = training_key(settings.train, precision, data.fingerprint)
    cached = None if settings.train.retrain else find_cached(settings.checkpoint_dir, key)
    if cached is not None:
        log.info("reusing %s: same config and data (--retrain to train)", cached)
        return replace(model_ref(str(cached)), cached=True)
    if settings.train.num_threads:
        torch.set_num_threads(settings.train.num_threads)
    log.info("training in %s on %s: %s", precision.name, device, precision.reason)
    lead = _rank() in (None, 0)
    train_split, test_split = load_splits(
        data.location, settings.data.train_limit, settings.data.test_limit
    )
    partial = settings.checkpoint_dir / f"partial-{key}.pt"
    saved = load_partial(partial) if settings.train.resume and not settings.train.retrain else None
    resume = (
        TrainState(**{k: v for k, v in saved.items() if k != "tensorboard_dir"}) if saved else None
    )
    tb_dir = Path(saved["tensorboard_dir"]) if saved else new_tb_dir(settings)

    def keep(state: TrainState) -> None:
        if lead:
            save_partial(partial, {**state.to_dict(), "tensorboard_dir": str(tb_dir)})

    with TensorBoardSink(tb_dir) if lead else nullcontext(None) as sink:
        result = train(
            train_split,
            net_config(settings.train),
            train_config(settings.train, precision),
            device,
            sink=sink,
            on_epoch_end=keep,
            progress=settings.progress,
            resume=resume,
        )
        if sink is not None:
            write_projector(sink, result.model, test_split, settings.train.projector_sample)
    if lead:
        written = save_trained(settings, result, data.fingerprint, tb_dir, precision, device)
        register_cached(settings.checkpoint_dir, key, written)
        partial.unlink(missing_ok=True)
    if _rank() is not None:
        dist.barrier()  # the others wait for the checkpoint the first one writes
    path = find_cached(settings.checkpoint_dir, key) or Path()
    return ModelRef(
        str(path),
        path.stem,
        settings.train.embedding_dim,
        result.seconds,
        str(device),
        str(tb_dir),
        precision=described(precision),
        recipe=recipe_line(settings.train.recipe, len(result.history)),
    )


def machine_recipe(machine: Machine, device: torch.device, precision: Precision) -> str:
    """What ``recipe=auto`` trains with here: the gpu preset on CUDA; the amx preset where a
    CPU with AMX trains in bf16 (fast enough for 8 epochs in the time 6 take elsewhere); the
    default on any other CPU, AVX-512 BF16 without AMX included (2,100 images/s: 8 epochs
    would take 230 s)."""
    if device.type == "cuda":
        return "gpu"
    if precision.bf16 and "amx_bf16" in machine.flags:
        return "amx"
    return "default"


def _rank() -> int | None:
    """This process's rank under torchrun; None when it trains alone."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else None


def described(precision: Precision) -> str:
    return f"{precision.name} ({precision.reason})"


def save_trained(
    settings: Settings,
    result: TrainResult,
    fingerprint: str,
    tb_dir: Path,
    precision: Precision,
    device: torch.device,
) -> Path:
    """Write the checkpoint of a finished training run; return its path."""
    last = result.history[-1] if result.history else {}
    return save_checkpoint(
        settings.checkpoint_dir,
        {
            "state_dict": {k: v.cpu() for k, v in result.model.state_dict().items()},
            "head_state_dict": {k: v.cpu() for k, v in result.head.state_dict().items()},
            "model_args": result.model.config.to_dict(),
            "train_config": train_config(settings.train, precision).to_dict(),
            "precision": {"name": precision.name, "reason": precision.reason},
            "machine": this_machine(device).to_dict(),
            "config": public_config(settings),
            "data_fingerprint": fingerprint,
            "history": result.history,
            "metrics": {k: float(v) for k, v in last.items() if k != "epoch"},
            "train_seconds": result.seconds,
            "tensorboard_dir": str(tb_dir),
            "cache_key": training_key(settings.train, precision, fingerprint),
        },
    )


def model_ref(checkpoint: str) -> ModelRef:
    """A :class:`ModelRef` for any existing checkpoint file."""
    payload = load_checkpoint(Path(checkpoint))
    return ModelRef(
        checkpoint=checkpoint,
        model_version=payload["model_version"],
        embedding_dim=embedding_dim(payload),
        train_seconds=float(payload.get("train_seconds", 0.0)),
        device="cpu",
        tensorboard_dir=str(payload.get("tensorboard_dir", "")),
        precision=_recorded_precision(payload),
        recipe=_recorded_recipe(payload),
    )


def _recorded_precision(payload: dict[str, Any]) -> str:
    """What a checkpoint says it was trained in; checkpoints from before the choice was
    recorded say only whether bf16 autocast was on."""
    recorded = payload.get("precision")
    if isinstance(recorded, dict):
        return described(Precision(recorded["name"], recorded["reason"]))
    return "bf16" if payload.get("train_config", {}).get("bf16") else "fp32"


def _recorded_recipe(payload: dict[str, Any]) -> str:
    """The recipe and epochs a trained checkpoint records (its config is the settings it ran
    with, the machine's recipe filled in); "" for a catalog's model."""
    recipe, epochs = payload.get("config", {}).get("recipe"), len(payload.get("history", []))
    return recipe_line(recipe, epochs) if recipe and epochs else ""


def recipe_line(recipe: str, epochs: int) -> str:
    """How the run summary names a recipe: ``amx, 8 epochs``."""
    return f"{recipe}, {epochs} epoch{'' if epochs == 1 else 's'}"
