"""One DDP training step, for tests/flows/test_ddp.py. Run under torchrun:

    torchrun --standalone --nproc_per_node 2 -m tests.flows.ddp_step OUT_DIR

Each rank joins the process group the way ``app.ddp`` does and runs ``model.train.train`` (which
wraps the model in DistributedDataParallel) for one optimiser step on a toy batch, then saves its
parameters to ``OUT_DIR/rank<N>.pt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from model.configs import EmbeddingNetConfig, TrainConfig
from model.data import Split
from model.net import EmbeddingNet
from model.train import TrainState, train

NET = EmbeddingNetConfig(embedding_dim=16, width=4, dropout=0.0)
BATCH = 64
# One batch an epoch, stopped after the first: one step. Ten planned epochs because OneCycleLR
# starts at lr / 25 only when its warm-up spans a step; planned as one, that step gets ~0.
# No augmentation, so a rank's gradient depends only on which images it gets.
CONFIG = TrainConfig(epochs=10, batch_size=BATCH, lr=1e-2, augment=False, seed=11)


def toy_split() -> Split:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(BATCH) % 4
    images = torch.randint(0, 256, (BATCH, 28, 28), generator=g, dtype=torch.uint8)
    return Split("train", images, labels)


class _FirstEpochEnded(Exception):
    def __init__(self, state: TrainState) -> None:
        self.state = state


def one_step(data: Split, device: torch.device) -> dict[str, torch.Tensor]:
    """The trained parameters (network and loss head, no BatchNorm statistics) after the first
    epoch of ``train`` on ``data`` with :data:`CONFIG`, by name."""

    def stop(state: TrainState) -> None:
        raise _FirstEpochEnded(state)

    try:
        train(data, NET, CONFIG, device, on_epoch_end=stop, progress=False)
    except _FirstEpochEnded as ended:
        buffers = {name for name, _ in EmbeddingNet(NET).named_buffers()}
        model = {f"model.{k}": v for k, v in ended.state.model.items() if k not in buffers}
        head = {f"head.{k}": v for k, v in ended.state.head.items()}
        return {k: v.detach().cpu() for k, v in {**model, **head}.items()}
    raise AssertionError("train() ended no epoch")


def main(out: Path) -> None:
    from app.ddp import process_group  # here: the test imports this module, not the CLI

    with process_group("cpu") as device:
        torch.save(one_step(toy_split(), device), out / f"rank{dist.get_rank()}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
