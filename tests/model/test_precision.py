"""The precision choice by the machine's feature flags, and bf16 embedding that agrees with fp32."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from model.backbones import Embedder, create_backbone
from model.precision import Machine, choose, cpu_info


@pytest.fixture(scope="module")
def trained_cnn(data_root: Path) -> Embedder:
    """A CNN after one short epoch: a random one maps every image to nearly one vector, where
    any precision agrees."""
    from model.backbones import rebuild
    from model.configs import EmbeddingNetConfig, TrainConfig
    from model.data import load_split
    from model.train import train

    split = load_split(data_root, "train").head(3000)
    cfg = EmbeddingNetConfig(width=16)
    net = train(split, cfg, TrainConfig(epochs=1), torch.device("cpu"), progress=False).model
    args = {"backbone": "fmnist-cnn", "image_size": 28, "trunk_args": cfg.to_dict()}
    return rebuild(args, {f"trunk.{k}": v for k, v in net.state_dict().items()})


SAPPHIRE_RAPIDS = frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
ZEN4 = frozenset({"avx2", "avx512f", "avx512_bf16"})
ZEN3 = frozenset({"avx2"})
SKYLAKE = frozenset({"avx2", "avx512f", "avx512_vnni"})


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(SAPPHIRE_RAPIDS, "bf16"), (ZEN4, "bf16"), (ZEN3, "fp32"), (SKYLAKE, "fp32")],
)
def test_auto_takes_bf16_only_where_the_cpu_computes_it(
    flags: frozenset[str], expected: str
) -> None:
    chosen = choose("auto", Machine("some CPU", flags))
    assert chosen.name == expected
    assert ("amx_bf16" if "amx_bf16" in flags else "avx512_bf16") in chosen.reason or (
        expected == "fp32" and "neither" in chosen.reason
    )


def test_a_gpu_goes_by_its_own_bf16_support_and_a_request_wins() -> None:
    without = Machine("cpu", ZEN3, gpu="old GPU", gpu_bf16=False)
    assert choose("auto", without, "cuda").name == "fp32"
    assert choose("auto", Machine("cpu", ZEN3, "H200", True), "cuda").name == "bf16"
    # The GPU decides on CUDA, the CPU's flags do not.
    assert choose("auto", Machine("cpu", SAPPHIRE_RAPIDS, "old GPU", False), "cuda").name == "fp32"
    assert choose("bf16", Machine("cpu", ZEN3)).name == "bf16"
    assert choose("fp32", Machine("cpu", SAPPHIRE_RAPIDS)).reason == "asked for"


def test_auto_keeps_fp32_for_a_model_bf16_does_not_speed_up() -> None:
    from model.registry import entry

    assert choose("auto", Machine("cpu", SAPPHIRE_RAPIDS), pays=False).name == "fp32"
    assert choose("bf16", Machine("cpu", SAPPHIRE_RAPIDS), pays=False).name == "bf16"
    assert entry("resnet18").bf16_pays and not entry("fmnist-cnn").bf16_pays


def test_the_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    name = "model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
    core = f"{name}flags\t\t: fpu avx2 avx512f amx_bf16 sse\n"
    info.write_text(f"processor\t: 0\n{core}\nprocessor\t: 1\n{core}")
    name, flags = cpu_info(info)
    assert name == "Intel(R) Xeon(R) Platinum 8480+"
    assert flags == {"avx2", "avx512f", "amx_bf16"}  # only the recorded ones
    assert cpu_info(tmp_path / "missing")[1] == frozenset()


def _agreement(net: Embedder, images: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        fp32 = net(images)
        net.bf16 = True
        bf16 = net(images)
        net.bf16 = False
    assert bf16.dtype == torch.float32
    assert not torch.equal(bf16, fp32)  # bf16 really ran
    return F.cosine_similarity(bf16, fp32)


def test_bf16_embeddings_agree_with_fp32_item_by_item(trained_cnn: Embedder) -> None:
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    assert _agreement(trained_cnn, images).min() >= 0.999


def test_resnet_bf16_embeddings_agree_with_fp32() -> None:
    net = create_backbone("resnet18", "none", image_size=64)
    images = torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8)
    assert _agreement(net, images).min() >= 0.999


def test_bf16_embeds_through_the_steps_an_explanation_splits(trained_cnn: Embedder) -> None:
    from model.explain import exact_maps

    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    trained_cnn.bf16 = True
    try:
        with torch.inference_mode():
            z = trained_cnn(images)
        maps = exact_maps(trained_cnn, images[0], images[1])
    finally:
        trained_cnn.bf16 = False
    assert maps.score == pytest.approx(float(z[0] @ z[1]), abs=1e-5)
