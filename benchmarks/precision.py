"""Training throughput in fp32 and under bf16 autocast (channels-last both), side by side.

Run: `python -m benchmarks.precision [--steps 20]`. The two precisions alternate, so machine
noise hits both alike; the ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import write
from model.configs import EmbeddingNetConfig
from model.losses import CosineClassifierLoss
from model.net import EmbeddingNet
from model.train import pick_device


def step_time(bf16: bool, steps: int, batch: int, device: torch.device) -> float:
    torch.manual_seed(0)
    model = EmbeddingNet(EmbeddingNetConfig()).to(device).to(memory_format=torch.channels_last)
    head = CosineClassifierLoss(10, 64).to(device)
    opt = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-3)
    x = torch.randn(batch, 1, 28, 28, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)
    for i in range(steps + 3):
        if i == 3:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = head(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    device = pick_device("auto")
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):
        for bf16 in (False, True):
            times[bf16].append(step_time(bf16, args.steps, args.batch, device))
    best = {k: min(v) for k, v in times.items()}
    rows = [
        {
            "precision": name,
            "images_per_s": args.batch / best[flag],
            "speedup": best[False] / best[flag],
        }
        for name, flag in (("fp32", False), ("bf16 autocast", True))
    ]
    print(write("precision", rows, {"device": str(device), "batch": args.batch}).read_text())


if __name__ == "__main__":
    main()
