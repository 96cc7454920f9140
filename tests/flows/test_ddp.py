"""Two CPU processes under torchrun (gloo) train on a slice and write a valid checkpoint, and
keep their parameters in step by averaging gradients."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from infra.checkpoints import load_checkpoint
from model.data import Split
from model.embed import embed_all
from model.net import build_model
from model.train import _batches
from tests.flows.ddp_step import BATCH, CONFIG, one_step, toy_split

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# Two CPU processes on this host, as a user would launch them.
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def test_torchrun_two_cpu_processes(data_root: Path, tmp_path: Path) -> None:
    cmd = [
        *TORCHRUN,
        "-m",
        "app.ddp",
        "--home",
        str(tmp_path),
        "--data-root",
        str(data_root),
        "--train-limit",
        "1024",
        "--test-limit",
        "64",
        "--epochs",
        "1",
        "--width",
        "4",
        "--device",
        "cpu",
        "--no-progress",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    found = re.search(r"model \S+ at (\S+), written by 2 processes", out.stdout)
    assert found, out.stdout
    payload = load_checkpoint(Path(found.group(1)))
    # The same run as `lookalike train`: its cache knows the checkpoint, so a second launch
    # (or `lookalike train` with these settings) reuses it.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"at {found.group(1)}, reused" in again.stdout, again.stdout
    assert payload["config"]["train_limit"] == 1024
    model = build_model(payload["model_args"], payload["state_dict"])
    z = embed_all(model, torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8))
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)


def test_a_ddp_step_averages_gradients_across_ranks(tmp_path: Path) -> None:
    """After one step both ranks hold the same parameters, and not those one process gets from
    its half of the batch alone: DistributedDataParallel averaged the two halves' gradients."""
    cmd = [
        *TORCHRUN,
        "-m",
        "tests.flows.ddp_step",
        str(tmp_path),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    unequal = [name for name in rank0 if not torch.equal(rank0[name], rank1[name])]
    assert not unequal, f"the ranks disagree after a step on {unequal}"

    # Without gradient sync, rank 0 would hold what one process gets from rank 0's half alone:
    # the same shuffle as train(), every other image of the batch.
    data = toy_split()
    batch = _batches(len(data), BATCH, torch.Generator().manual_seed(CONFIG.seed))[0]
    half = batch[0::2]
    assert int(data.labels[half].max()) == int(data.labels.max())  # the same loss head
    alone = one_step(Split("train", data.images[half], data.labels[half]), torch.device("cpu"))
    gap = max(float((rank0[name] - alone[name]).abs().max()) for name in alone)
    assert gap > 1e-4, f"rank 0 ends where its half alone would take it (gap {gap:.2e})"
