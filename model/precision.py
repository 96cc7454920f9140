"""Which precision to compute in, chosen from what the machine computes natively.

bf16 autocast pays only where the hardware multiplies bf16 itself: measured here, training the
Fashion-MNIST CNN ran 1.70x faster under bf16 on an AMD EPYC with AVX-512 BF16, and 0.07x (14
times slower) on an AMD EPYC without it, where oneDNN emulates bf16. So the choice goes by the
CPU's feature flags (or the GPU's bf16 support), never by luck, and is recorded with the reason.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

Requested = Literal["auto", "fp32", "bf16"]
# CPU flags (as /proc/cpuinfo spells them) that mean bf16 matrix products in hardware: AMX
# tiles (Intel Sapphire Rapids and later) or AVX-512 BF16 dot products (Cooper Lake, AMD Zen 4).
NATIVE_BF16 = ("amx_bf16", "avx512_bf16")
# Flags worth recording beside the choice: they explain a machine's figures.
RECORDED = ("avx2", "avx512f", "avx512_vnni", *NATIVE_BF16, "amx_tile", "amx_int8")


@dataclass(frozen=True)
class Machine:
    """What the precision choice looks at: the CPU and the GPU, if one is used."""

    cpu: str
    flags: frozenset[str] = field(default_factory=frozenset)
    gpu: str | None = None
    gpu_bf16: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flags": sorted(self.flags)}


@dataclass(frozen=True)
class Precision:
    """The chosen precision and why, as checkpoints and reports record it."""

    name: Literal["fp32", "bf16"]
    reason: str

    @property
    def bf16(self) -> bool:
        return self.name == "bf16"


@functools.lru_cache(maxsize=2)
def cpu_info(path: Path = Path("/proc/cpuinfo")) -> tuple[str, frozenset[str]]:
    """The CPU's model name and its recorded flags (Linux; elsewhere the platform's name and
    no flags, so ``auto`` stays in fp32)."""
    try:
        text = path.read_text()
    except OSError:
        return platform.processor() or platform.machine(), frozenset()
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = frozenset(fields.get("flags", "").split()) & frozenset(RECORDED)
    return fields.get("model name", platform.machine()), flags


def this_machine(device: torch.device | None = None) -> Machine:
    cpu, flags = cpu_info()
    if device is None or device.type != "cuda":
        return Machine(cpu, flags)
    return Machine(cpu, flags, torch.cuda.get_device_name(device), torch.cuda.is_bf16_supported())


def choose(
    requested: Requested, machine: Machine, device_type: str = "cpu", pays: bool = True
) -> Precision:
    """``fp32`` and ``bf16`` are taken as asked; ``auto`` picks bf16 where it is native and,
    for a model that measured no gain from it (``pays=False``), fp32."""
    if requested != "auto":
        return Precision(requested, "asked for")
    if not pays:
        return Precision("fp32", "bf16 does not pay for this model")
    if device_type == "cuda":
        if machine.gpu_bf16:
            return Precision("bf16", f"{machine.gpu} computes bf16")
        return Precision("fp32", f"{machine.gpu} has no bf16")
    native = [f for f in NATIVE_BF16 if f in machine.flags]
    if native:
        return Precision("bf16", f"the CPU has {native[0]}")
    return Precision("fp32", f"the CPU has neither {' nor '.join(NATIVE_BF16)}")


def chosen(requested: Requested, device: torch.device, pays: bool = True) -> Precision:
    """The precision to compute in on ``device`` of this machine."""
    return choose(requested, this_machine(device), device.type, pays)


def autocast(device_type: str, enabled: bool) -> Any:
    """bf16 autocast on ``device_type`` when ``enabled``; a no-op context otherwise."""
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=enabled)
