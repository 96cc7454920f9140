"""The training loop: cosine-classifier metric learning on in-memory uint8 tensors."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

from model.augment import normalise, random_crop_flip
from model.data import Split
from model.losses import CosineClassifierLoss
from model.net import EmbeddingNet, EmbeddingNetConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation hyperparameters; the settings module fills these from LOOKALIKE_* values."""

    epochs: int = 4
    batch_size: int = 256
    lr: float = 4e-3
    weight_decay: float = 5e-4
    scale: float = 16.0
    margin: float = 0.0
    label_smoothing: float = 0.0
    augment: bool = True
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ScalarSink(Protocol):
    """Where training curves go (TensorBoard in production, a list in tests)."""

    def scalar(self, tag: str, value: float, step: int) -> None: ...


@dataclass
class TrainResult:
    model: EmbeddingNet
    head: CosineClassifierLoss
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` picks CUDA when a GPU is visible, else the CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=generator)
    # Drop the ragged tail: a tiny last batch makes BatchNorm statistics noisy.
    usable = max(batch_size, n - n % batch_size) if n >= batch_size else n
    return list(order[:usable].split(batch_size))


def train(
    data: Split,
    net_config: EmbeddingNetConfig,
    config: TrainConfig,
    device: torch.device,
    sink: ScalarSink | None = None,
    on_epoch_end: Callable[[int, TrainResult], None] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train an :class:`EmbeddingNet` on ``data`` and return it with its loss head."""
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = EmbeddingNet(net_config).to(device).to(memory_format=torch.channels_last)
    head = CosineClassifierLoss(
        num_classes=int(data.labels.max()) + 1,
        embedding_dim=net_config.embedding_dim,
        scale=config.scale,
        margin=config.margin,
        label_smoothing=config.label_smoothing,
    ).to(device)
    # The whole data set fits on any device (47 MB of uint8), so no DataLoader workers are needed.
    images, labels = data.images.to(device), data.labels.to(device)
    steps_per_epoch = len(_batches(len(data), config.batch_size, torch.Generator()))
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.lr, total_steps=max(1, config.epochs * steps_per_epoch), pct_start=0.2
    )
    result = TrainResult(model=model, head=head)
    start, step = time.perf_counter(), 0
    for epoch in range(config.epochs):
        model.train()
        seen, loss_sum, correct, t0 = 0, 0.0, 0, time.perf_counter()
        bar = tqdm(
            _batches(len(data), config.batch_size, gen),
            desc=f"epoch {epoch + 1}/{config.epochs}",
            disable=not progress,
            leave=False,
        )
        for idx in bar:
            x = normalise(images[idx.to(device)])
            if config.augment:
                x = random_crop_flip(x, gen)
            y = labels[idx.to(device)]
            emb = model(x.contiguous(memory_format=torch.channels_last))
            loss = head(emb, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            correct += int((head.logits(emb.detach()).argmax(1) == y).sum())
            bar.set_postfix(loss=f"{loss.item():.3f}")
        secs = time.perf_counter() - t0
        row = {
            "epoch": float(epoch + 1),
            "loss": loss_sum / max(seen, 1),
            "train_accuracy": correct / max(seen, 1),
            "lr": float(sched.get_last_lr()[0]),
            "images_per_second": seen / secs if secs > 0 else math.inf,
        }
        result.history.append(row)
        log.info("epoch %d: %s", epoch + 1, {k: round(v, 4) for k, v in row.items()})
        if sink is not None:
            for tag in ("loss", "train_accuracy", "lr", "images_per_second"):
                sink.scalar(f"train/{tag}", row[tag], epoch + 1)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, result)
    result.seconds = time.perf_counter() - start
    model.eval()
    return result
