"""A killed indexing run leaves the alias alone; the re-run completes without duplicates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from infra.checkpoints import save_checkpoint
from infra.indexes import promote_if_better
from infra.settings import Settings
from infra.store import VectorStore, open_store
from model.net import EmbeddingNet, EmbeddingNetConfig
from tasks.data import prepare_data
from tasks.indexing import create_collection, finalize_collection, index_split
from tasks.training import model_ref


def _model(settings: Settings, seed: int) -> str:
    torch.manual_seed(seed)
    net = EmbeddingNet(EmbeddingNetConfig(width=8))
    args = {"state_dict": net.state_dict(), "model_args": net.config.to_dict()}
    return str(save_checkpoint(settings.checkpoint_dir, args))


def _ask(settings: Settings, fn: Callable[[VectorStore], Any]) -> Any:
    """Open the embedded store only for the question: tasks open the same shards themselves."""
    store = open_store(settings)
    try:
        return fn(store)
    finally:
        store.close()


def test_interrupted_index_then_rerun(data_root: Path, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        data_root=data_root,
        train_limit=400,
        test_limit=100,
        progress=False,
        upsert_batch_size=64,
    )
    data = prepare_data.fn(settings)
    alias = settings.served_alias

    # A served index from an earlier model.
    old = model_ref(_model(settings, 0))
    old_name = create_collection.fn(settings, old, data)
    for split in ("train", "test"):
        index_split.fn(settings, old, data, split, old_name)
    finalize_collection.fn(settings, old_name, 500)
    _ask(settings, lambda s: s.set_metadata(old_name, {"metrics": {"precision_at_1": 0.9}}))
    assert _ask(settings, lambda s: promote_if_better(s, alias, old_name, 0.5, 0.1).promoted)

    # A new model's run dies after the train split: the alias must not move.
    new = model_ref(_model(settings, 1))
    new_name = create_collection.fn(settings, new, data)
    index_split.fn(settings, new, data, "train", new_name)
    assert _ask(settings, lambda s: s.count(new_name)) == 400
    assert _ask(settings, lambda s: s.metadata(new_name)["complete"]) is False
    assert _ask(settings, lambda s: s.resolve(alias)) == old_name
    assert _ask(settings, lambda s: s.count(alias)) == 500

    # The re-run does everything again: same ids, so no duplicates, and the count is exact.
    assert create_collection.fn(settings, new, data) == new_name
    for split in ("train", "test"):
        index_split.fn(settings, new, data, split, new_name)
    assert finalize_collection.fn(settings, new_name, 500) == 500
    assert _ask(settings, lambda s: s.metadata(new_name)["complete"]) is True
