"""The backbone registry, its weights sources, and fine-tuning on catalog labels."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
import torchvision
from torch.utils.data import TensorDataset

from model.backbones import _torchvision_weights, create_backbone, rebuild
from model.finetune import FineTuneConfig, finetune
from model.registry import BACKBONES, BackboneError, entry


def _images(n: int, size: int = 32, channels: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (n, channels, size, size), generator=g, dtype=torch.uint8)


def test_unknown_backbone_lists_the_known_ones() -> None:
    with pytest.raises(BackboneError, match="known backbones: fmnist-cnn, resnet18, resnet50"):
        create_backbone("vit")


@pytest.mark.parametrize(
    ("name", "dim"), [("resnet18", 512), ("resnet50", 2048), ("fmnist-cnn", 64)]
)
def test_each_backbone_gives_unit_vectors(name: str, dim: int) -> None:
    net = create_backbone(name, "none", image_size=32 if name != "fmnist-cnn" else 28)
    x = _images(2, net.image_size, net.channels)
    z = net(x)
    assert z.shape == (2, dim) and net.embedding_dim == dim
    assert torch.allclose(z.norm(dim=1), torch.ones(2), atol=1e-5)


def test_random_init_follows_the_seed() -> None:
    a, b = create_backbone("resnet18", seed=3), create_backbone("resnet18", seed=3)
    c = create_backbone("resnet18", seed=4)
    w = "trunk.conv1.weight"
    assert torch.equal(a.state_dict()[w], b.state_dict()[w])
    assert not torch.equal(a.state_dict()[w], c.state_dict()[w])


def test_imagenet_weights_come_from_torchvisions_weights_api() -> None:
    assert _torchvision_weights("resnet18", entry("resnet18")) is (
        torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    )
    assert _torchvision_weights("resnet50", entry("resnet50")).name == "IMAGENET1K_V2"
    with pytest.raises(BackboneError, match="has no ImageNet weights"):
        create_backbone("fmnist-cnn", "imagenet")


def test_local_weights_file_loads_torchvision_state_dicts(tmp_path: Path) -> None:
    source = torchvision.models.resnet18(num_classes=7)  # a fine-tuned classifier's weights
    path = tmp_path / "resnet18.pt"
    torch.save(source.state_dict(), path)
    net = create_backbone("resnet18", str(path), image_size=32)
    assert torch.equal(net.trunk.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    torch.save(torchvision.models.resnet50().state_dict(), tmp_path / "r50.pt")
    with pytest.raises(BackboneError, match="does not fit resnet18"):
        create_backbone("resnet18", str(tmp_path / "r50.pt"))
    with pytest.raises(BackboneError, match="no weights file"):
        create_backbone("resnet18", str(tmp_path / "nothing.pt"))


def test_weights_files_are_never_unpickled_as_objects(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"state_dict": Payload()}))
    with pytest.raises(BackboneError, match="torch can load safely"):
        create_backbone("resnet18", str(path))


@pytest.mark.parametrize("name", ["resnet18", "fmnist-cnn"])
def test_rebuild_from_model_args_reproduces_the_model(name: str) -> None:
    net = create_backbone(name, "none", image_size=32, head_dim=16, seed=5)
    copy = rebuild(net.model_args(), net.state_dict())
    x = _images(3, channels=1 if name == "fmnist-cnn" else 3)
    assert net.embedding_dim == 16
    assert torch.allclose(net(x), copy(x))
    assert set(BACKBONES) == {"fmnist-cnn", "resnet18", "resnet50"}


def test_finetune_trains_head_and_last_block_only() -> None:
    net = create_backbone("resnet18", "none", image_size=32, head_dim=16)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    # Two classes a CNN can tell apart: dark and bright images.
    x = torch.cat([_images(24) // 4, 192 + _images(24) // 4])
    y = torch.cat([torch.zeros(24), torch.ones(24)]).long()
    y[0] = -1  # unlabelled items are skipped
    result = finetune(net, TensorDataset(x, y), 2, FineTuneConfig(epochs=4, batch_size=16, lr=3e-3))
    after = net.state_dict()
    assert result.history[-1]["accuracy"] >= 0.9
    assert torch.equal(after["trunk.conv1.weight"], before["trunk.conv1.weight"])
    assert torch.equal(
        after["trunk.layer3.0.bn1.running_mean"], before["trunk.layer3.0.bn1.running_mean"]
    )
    assert not torch.equal(
        after["trunk.layer4.0.conv1.weight"], before["trunk.layer4.0.conv1.weight"]
    )
    assert not torch.equal(after["head.weight"], before["head.weight"])
    assert all(p.requires_grad for p in net.parameters())  # unfrozen again for later use


def test_finetune_refuses_what_it_cannot_train() -> None:
    with pytest.raises(ValueError, match="projection head"):
        finetune(
            create_backbone("resnet18"),
            TensorDataset(_images(2), torch.zeros(2)),
            2,
            FineTuneConfig(),
        )
    net = create_backbone("resnet18", head_dim=8)
    with pytest.raises(ValueError, match="at least 2 labels"):
        finetune(net, TensorDataset(_images(2), torch.zeros(2)), 1, FineTuneConfig())
