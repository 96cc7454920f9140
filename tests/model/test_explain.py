"""The similarity map is an exact split of the score where the docs claim it: the CNN and the
ResNets (at random init), with and without a fine-tuning head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.backbones import create_backbone
from model.explain import exact_maps, explain_pair, gradient_maps, top_share, upsampled
from model.overlay import overlay_png


def _pair(channels: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (channels, size, size)
    return (
        torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
        torch.randint(0, 256, shape, dtype=torch.uint8, generator=g),
    )


@pytest.mark.parametrize(
    ("name", "size", "head", "grid"),
    [
        ("fmnist-cnn", 28, None, (7, 7)),
        ("fmnist-cnn", 28, 16, (7, 7)),
        ("resnet18", 96, None, (3, 3)),
        ("resnet18", 96, 32, (3, 3)),
    ],
)
def test_each_map_sums_to_the_score_of_the_models_own_vectors(
    name: str, size: int, head: int | None, grid: tuple[int, int]
) -> None:
    net = create_backbone(name, image_size=size, head_dim=head, seed=3)
    # Trained BatchNorm statistics, not the identity of a fresh layer: a real trunk's shape.
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    query, hit = _pair(net.channels, size)
    maps = exact_maps(net, query, hit)
    with torch.inference_mode():
        e = net(torch.stack([query, hit]))
    assert maps.score == pytest.approx(float(e[0] @ e[1]), abs=1e-5)
    assert maps.grid == grid and maps.hit.shape == grid
    assert maps.query.sum() == pytest.approx(maps.score, abs=1e-5)
    assert maps.hit.sum() == pytest.approx(maps.score, abs=1e-5)
    assert not np.allclose(maps.query, maps.query.mean())  # regions differ


def test_the_hits_map_is_the_same_split_seen_from_the_hit() -> None:
    net = create_backbone("fmnist-cnn", seed=1)
    a, b = _pair(1, 28, seed=5)
    forward, backward = exact_maps(net, a, b), exact_maps(net, b, a)
    np.testing.assert_allclose(forward.query, backward.hit, atol=1e-6)
    np.testing.assert_allclose(forward.hit, backward.query, atol=1e-6)


def test_gradient_times_input_estimates_the_score_rather_than_splitting_it() -> None:
    net = create_backbone("fmnist-cnn", seed=2)
    a, b = _pair(1, 28, seed=7)
    maps = exact_maps(net, a, b)
    assert maps.query.sum() == pytest.approx(maps.score, abs=1e-5)
    # Gradient times input does not split the score: its total is some other number.
    grad = gradient_maps(net, a, b)
    assert grad.method == "gradient" and grad.query.shape == (28, 28)
    assert grad.score == pytest.approx(maps.score, abs=1e-5)
    assert abs(float(grad.query.sum()) - maps.score) > 1e-3


def test_top_share_upsampling_and_overlay() -> None:
    grid = np.array([[4.0, 0.0], [0.0, 0.0]] + [[1.0, 1.0]] * 3)  # 10 cells, total 10
    assert top_share(grid) == pytest.approx(0.4)  # the top 10%: one cell of four
    assert top_share(np.zeros((2, 2))) == 0.0
    assert upsampled(grid[:2], 8).sum() == pytest.approx(grid[:2].sum(), rel=0.05)
    net = create_backbone("fmnist-cnn", seed=0)
    a, b = _pair(1, 28)
    png = overlay_png(explain_pair(net, a, b, "exact"), a, b)
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(png)).size == (2 * 224 + 8, 224)


def test_an_unknown_method_is_named() -> None:
    net = create_backbone("fmnist-cnn", seed=0)
    a, b = _pair(1, 28)
    with pytest.raises(ValueError, match="unknown method 'lime'"):
        explain_pair(net, a, b, "lime")  # type: ignore[arg-type]
