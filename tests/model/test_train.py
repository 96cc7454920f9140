"""Training on a small slice: learns, is deterministic, and resumes to the same result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.configs import EmbeddingNetConfig, TrainConfig
from model.data import Split
from model.embed import embed_all
from model.train import TrainState, train

NET = EmbeddingNetConfig(embedding_dim=16, width=4, dropout=0.1)


def _toy(n: int = 384) -> Split:
    """Three classes of 28x28 images that differ in where a bright bar sits, plus noise."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    images = torch.randint(0, 60, (n, 28, 28), generator=g, dtype=torch.uint8)
    for c in range(3):
        images[labels == c, 4 + 8 * c : 10 + 8 * c, :] = 230
    return Split("train", images, labels)


def test_training_learns_and_is_deterministic() -> None:
    cfg = TrainConfig(epochs=3, batch_size=64, lr=1e-2, augment=True, seed=3)
    a = train(_toy(), NET, cfg, torch.device("cpu"), progress=False)
    b = train(_toy(), NET, cfg, torch.device("cpu"), progress=False)
    assert a.history[-1]["train_accuracy"] > 0.9
    for (ka, va), (kb, vb) in zip(
        a.model.state_dict().items(), b.model.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(va, vb)


def test_resume_ends_where_an_uninterrupted_run_ends() -> None:
    cfg = TrainConfig(epochs=3, batch_size=64, lr=1e-2, augment=True, seed=5)
    states: list[TrainState] = []
    full = train(_toy(), NET, cfg, torch.device("cpu"), on_epoch_end=states.append, progress=False)
    # "Kill" after epoch 1: a new process would load the state saved at that point.
    after: list[TrainState] = []
    resumed = train(
        _toy(),
        NET,
        cfg,
        torch.device("cpu"),
        on_epoch_end=after.append,
        progress=False,
        resume=states[0],
    )
    # Only the epochs left were trained: a run that ignored ``resume`` would start over and,
    # being deterministic, still end with the same weights.
    assert [s.epoch for s in after] == [2, 3]
    np.testing.assert_array_equal(
        embed_all(full.model, _toy().images), embed_all(resumed.model, _toy().images)
    )
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in full.history]


@pytest.mark.parametrize("bf16", [False, True])
def test_bf16_autocast_trains(bf16: bool) -> None:
    cfg = TrainConfig(epochs=1, batch_size=64, lr=1e-2, augment=False, bf16=bf16)
    result = train(_toy(), NET, cfg, torch.device("cpu"), progress=False)
    assert np.isfinite(result.history[-1]["loss"])
