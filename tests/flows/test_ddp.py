"""Two CPU processes under torchrun (gloo) train on a slice and write a valid checkpoint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from infra.checkpoints import load_checkpoint
from model.embed import embed_all
from model.net import build_model

pytestmark = pytest.mark.slow


def test_torchrun_two_cpu_processes(data_root: Path, tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "flows.ddp",
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
    found = re.search(r"written to (\S+) by 2 processes", out.stdout)
    assert found, out.stdout
    payload = load_checkpoint(Path(found.group(1)))
    assert payload["config"]["train_limit"] == 1024
    model = build_model(payload["model_args"], payload["state_dict"])
    z = embed_all(model, torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8))
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)
