"""Fine-tuning a backbone on catalog labels: a cosine-classifier head with a margin, only the
trunk's last block unfrozen, so a few thousand product photos are enough and a CPU copes."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset

from model.backbones import Embedder
from model.configs import FineTuneConfig
from model.losses import CosineClassifierLoss
from model.train import ScalarSink

log = logging.getLogger(__name__)


@dataclass
class FineTuneResult:
    net: Embedder
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror half the batch: products look the same mirrored, so this is free extra data."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def _train_mode(net: Embedder) -> None:
    # Frozen layers keep their BatchNorm statistics: a small catalog would only spoil them.
    net.eval()
    net.entry.last_block(net.trunk).train()
    if net.head is not None:
        net.head.train()


def finetune(
    net: Embedder,
    data: Dataset[tuple[torch.Tensor, int]],
    num_classes: int,
    config: FineTuneConfig,
    sink: ScalarSink | None = None,
) -> FineTuneResult:
    """Train ``net``'s head and last block on labelled items (label -1 items are skipped)."""
    if net.head is None:
        raise ValueError("fine-tuning needs a projection head: create the backbone with head_dim.")
    if num_classes < 2:
        raise ValueError(f"fine-tuning needs at least 2 labels in the catalog, got {num_classes}.")
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    device = next(net.parameters()).device
    loss_fn = CosineClassifierLoss(
        num_classes, net.embedding_dim, config.scale, config.margin, config.label_smoothing
    ).to(device)
    params = [*net.freeze_but_last_block(), *loss_fn.parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    loader = DataLoader(data, batch_size=config.batch_size, shuffle=True, generator=generator)
    steps = max(1, config.epochs * len(loader))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=steps)
    result = FineTuneResult(net)
    start = time.perf_counter()
    for epoch in range(config.epochs):
        _train_mode(net)
        total, correct, seen = 0.0, 0, 0
        for images, labels in loader:
            keep = labels >= 0
            if not keep.any():
                continue
            x, y = _flip(images[keep], generator).to(device), labels[keep].to(device)
            z = net(x)
            loss = loss_fn(z, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                correct += int((loss_fn.logits(z).argmax(1) == y).sum())
            total, seen = total + float(loss.detach()) * len(y), seen + len(y)
        row = {
            "epoch": float(epoch + 1),
            "loss": total / max(seen, 1),
            "accuracy": correct / max(seen, 1),
        }
        result.history.append(row)
        log.info(
            "fine-tune epoch %d: loss %.4f, accuracy %.4f", epoch + 1, row["loss"], row["accuracy"]
        )
        if sink is not None:
            sink.scalar("finetune/loss", row["loss"], epoch + 1)
            sink.scalar("finetune/accuracy", row["accuracy"], epoch + 1)
    result.seconds = time.perf_counter() - start
    net.requires_grad_(True)
    net.eval()
    return result
