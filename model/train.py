"""The training loop: cosine-classifier metric learning on in-memory uint8 tensors."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from model.augment import normalise, random_crop_flip, random_erase
from model.configs import EmbeddingNetConfig, TrainConfig
from model.data import Split
from model.losses import CosineClassifierLoss
from model.net import EmbeddingNet
from model.precision import autocast

log = logging.getLogger(__name__)


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


@dataclass
class TrainState:
    """Everything needed to continue a run exactly where an epoch ended."""

    epoch: int
    model: dict[str, Any]
    head: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    generator: torch.Tensor
    torch_rng: torch.Tensor
    history: list[dict[str, float]]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Objective(nn.Module):
    """Network and loss head as one module, so DistributedDataParallel syncs both."""

    def __init__(self, model: EmbeddingNet, head: CosineClassifierLoss) -> None:
        super().__init__()
        self.model, self.head = model, head

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.model(x)
        return self.head(emb.float(), y), emb


def _world() -> tuple[int, int]:
    """(rank, world size): (0, 1) unless torch.distributed was initialised (torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _epoch(
    objective: nn.Module,
    model: EmbeddingNet,
    head: CosineClassifierLoss,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    gen: torch.Generator,
    bar_desc: str,
    progress: bool,
) -> dict[str, float]:
    model.train()
    rank, world = _world()
    seen, loss_sum, correct, t0 = 0, 0.0, 0, time.perf_counter()
    batches = _batches(len(labels), config.batch_size, gen)
    for idx in tqdm(batches, desc=bar_desc, disable=not progress or rank > 0, leave=False):
        # Each rank takes its share of the global batch; equal shares keep every rank's random
        # generator in step, so all ranks see the same permutation next epoch.
        idx = idx[: len(idx) - len(idx) % world][rank::world].to(images.device)
        x = normalise(images[idx])
        if config.augment:
            x = random_erase(random_crop_flip(x, gen), gen)
        y = labels[idx]
        with autocast(images.device.type, config.bf16):
            loss, emb = objective(x.contiguous(memory_format=torch.channels_last), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        seen += len(idx)
        loss_sum += loss.item() * len(idx)
        correct += int((head.logits(emb.detach().float()).argmax(1) == y).sum())
    secs = time.perf_counter() - t0
    return {
        "loss": loss_sum / max(seen, 1),
        "train_accuracy": correct / max(seen, 1),
        "lr": float(sched.get_last_lr()[0]),
        "images_per_second": seen / secs if secs > 0 else math.inf,
    }


def train(
    data: Split,
    net_config: EmbeddingNetConfig,
    config: TrainConfig,
    device: torch.device,
    sink: ScalarSink | None = None,
    on_epoch_end: Callable[[TrainState], None] | None = None,
    progress: bool = True,
    resume: TrainState | None = None,
) -> TrainResult:
    """Train an :class:`EmbeddingNet` on ``data`` and return it with its loss head.

    With ``resume`` (a state handed to ``on_epoch_end`` by an earlier, interrupted run with the
    same config), training continues from that epoch and ends with the same weights as a run
    that was never interrupted.
    """
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
    result, first = TrainResult(model=model, head=head), 0
    objective: nn.Module = _Objective(model, head)
    if _world()[1] > 1:
        objective = nn.parallel.DistributedDataParallel(objective)
    if resume is not None:
        model.load_state_dict(resume.model)
        head.load_state_dict(resume.head)
        opt.load_state_dict(resume.optimizer)
        sched.load_state_dict(resume.scheduler)
        gen.set_state(resume.generator)
        torch.set_rng_state(resume.torch_rng)
        result.history, result.seconds, first = list(resume.history), resume.seconds, resume.epoch
        log.info("resuming after epoch %d of %d", first, config.epochs)
    for epoch in range(first, config.epochs):
        t0 = time.perf_counter()
        desc = f"epoch {epoch + 1}/{config.epochs}"
        row = _epoch(
            objective, model, head, opt, sched, images, labels, config, gen, desc, progress
        )
        result.seconds += time.perf_counter() - t0
        result.history.append({"epoch": float(epoch + 1), **row})
        log.info("epoch %d: %s", epoch + 1, {k: round(v, 4) for k, v in row.items()})
        if sink is not None:
            for tag, value in row.items():
                sink.scalar(f"train/{tag}", value, epoch + 1)
        if on_epoch_end is not None:
            # Copies: state_dict() holds live tensors that the next epoch would change.
            on_epoch_end(
                TrainState(
                    epoch + 1,
                    copy.deepcopy(model.state_dict()),
                    copy.deepcopy(head.state_dict()),
                    copy.deepcopy(opt.state_dict()),
                    copy.deepcopy(sched.state_dict()),
                    gen.get_state(),
                    torch.get_rng_state(),
                    list(result.history),
                    result.seconds,
                )
            )
    model.eval()
    return result
