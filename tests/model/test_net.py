from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from infra.checkpoints import CheckpointError, load_checkpoint, model_version, save_checkpoint
from model.configs import EmbeddingNetConfig
from model.embed import embed_all
from model.net import EmbeddingNet, build_model


def _images(n: int = 16) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )


@pytest.mark.parametrize("dim", [8, 64])
def test_embeddings_have_the_configured_size_and_unit_norm(dim: int) -> None:
    model = EmbeddingNet(EmbeddingNetConfig(embedding_dim=dim, width=8)).eval()
    z = embed_all(model, _images(), batch_size=5)
    assert z.shape == (16, dim)
    assert z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)


def test_checkpoint_round_trip_reproduces_embeddings_exactly(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = EmbeddingNet(EmbeddingNetConfig(embedding_dim=16, width=8)).eval()
    path = save_checkpoint(
        tmp_path,
        {"state_dict": model.state_dict(), "model_args": model.config.to_dict(), "metrics": {}},
    )
    payload = load_checkpoint(path)
    assert path.stem == payload["model_version"]
    assert payload["model_version"] == model_version(model.state_dict(), model.config.to_dict())
    again = build_model(payload["model_args"], payload["state_dict"])
    np.testing.assert_array_equal(embed_all(model, _images()), embed_all(again, _images()))


def test_model_version_changes_with_the_weights() -> None:
    a = EmbeddingNet(EmbeddingNetConfig(width=8))
    b = EmbeddingNet(EmbeddingNetConfig(width=8))
    args = a.config.to_dict()
    assert model_version(a.state_dict(), args) != model_version(b.state_dict(), args)


def test_a_corrupt_checkpoint_fails_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable Lookalike checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="No checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def _old_layout_args(model: EmbeddingNet) -> dict[str, object]:
    """model_args as a checkpoint written before ``pool_first`` existed records them."""
    return {k: v for k, v in model.config.to_dict().items() if k != "pool_first"}


def test_a_checkpoint_from_before_pool_first_loads_in_its_own_layout() -> None:
    torch.manual_seed(0)
    old = EmbeddingNet(EmbeddingNetConfig(embedding_dim=16, width=8, pool_first=False)).eval()
    again = build_model(_old_layout_args(old), old.state_dict())
    assert again.config.pool_first is False
    np.testing.assert_array_equal(embed_all(old, _images()), embed_all(again, _images()))


def test_pooling_first_computes_the_same_net_where_batchnorm_scales_are_positive() -> None:
    # The same weights in both layouts (the stem's BatchNorm moves from index 1 to 2).
    torch.manual_seed(0)
    old = EmbeddingNet(EmbeddingNetConfig(embedding_dim=16, width=8, pool_first=False))
    with torch.no_grad():
        for bn in (m for m in old.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
            bn.running_mean.uniform_(-0.2, 0.2)
    state = {k.replace("features.0.1.", "features.0.2."): v for k, v in old.state_dict().items()}
    new = build_model({**old.config.to_dict(), "pool_first": True}, state)
    assert isinstance(new.features[0][1], torch.nn.MaxPool2d)
    a, b = embed_all(old.eval(), _images()), embed_all(new, _images())
    np.testing.assert_allclose(a, b, atol=1e-5)
