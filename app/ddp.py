"""Multi-process training with torch DistributedDataParallel, launched by torchrun.

    torchrun --standalone --nproc_per_node 2 -m app.ddp [settings flags]        # CPUs: gloo
    torchrun --standalone --nproc_per_node 8 -m app.ddp --recipe gpu            # GPUs: NCCL

Every process trains on its share of each batch through the same run as `lookalike train`
(training.runs: the cache, resume, curves); rank 0 writes the checkpoint and prints its path.
Index it with `lookalike index build --checkpoint PATH`. This is a composition root like
the CLI: it runs without Prefect, since torchrun owns the processes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.distributed as dist

from app.cli import build_parser, settings_from
from catalogs.scan import scan_fashion_mnist
from model.data import resolve_root
from training.runs import train_fashion_mnist


@contextmanager
def process_group(requested_device: str) -> Iterator[torch.device]:
    """Join torchrun's process group (NCCL on GPUs, gloo on CPUs) and yield this rank's device.

    Inside it, :func:`model.train.train` wraps the model in DistributedDataParallel."""
    cuda = torch.cuda.is_available() and requested_device != "cpu"
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local) if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(device)
        yield device
    finally:
        dist.destroy_process_group()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    settings = settings_from(args)
    with process_group(settings.train.device) as device:
        root = resolve_root(
            settings.data.data_root, settings.data_dir, settings.data.debian_data_dir
        )
        out = settings.runs_dir / "catalogs" / settings.dataset
        source = scan_fashion_mnist(root, settings.data.train_limit, settings.data.test_limit, out)
        # The same run as `lookalike train`: the cache, resume, curves, checkpoint.
        ref = train_fashion_mnist(settings, source, device)
        if dist.get_rank() == 0:
            made = "reused" if ref.cached else f"written by {dist.get_world_size()} processes"
            print(f"model {ref.model_version} at {ref.checkpoint}, {made}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
