"""What recipe=auto trains with, by the machine's feature flags, not by the test machine's luck."""

from __future__ import annotations

import pytest
import torch

from model.precision import Machine, Requested, choose
from training.runs import machine_recipe

SAPPHIRE_RAPIDS = frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
ZEN4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
ZEN3 = frozenset({"avx2"})
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize(
    ("flags", "asked", "expected"),
    [
        (SAPPHIRE_RAPIDS, "auto", "amx"),  # bf16 on AMX: two more epochs in the same time
        (SAPPHIRE_RAPIDS, "fp32", "default"),  # fp32 there is no faster than anywhere
        (ZEN4, "auto", "default"),  # bf16 without AMX: 8 epochs would take 230 s
        (ZEN3, "auto", "default"),
        (ZEN3, "bf16", "default"),  # emulated bf16 is slower still
    ],
)
def test_a_cpu_takes_the_amx_recipe_only_where_amx_trains_in_bf16(
    flags: frozenset[str], asked: Requested, expected: str
) -> None:
    machine = Machine("some CPU", flags)
    assert machine_recipe(machine, CPU, choose(asked, machine)) == expected


def test_cuda_takes_the_gpu_recipe_whatever_the_cpu() -> None:
    machine = Machine("cpu", SAPPHIRE_RAPIDS, "H200", True)
    assert machine_recipe(machine, CUDA, choose("auto", machine, "cuda")) == "gpu"
