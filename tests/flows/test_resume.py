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

    # The re-run embeds only what is missing: same ids, no duplicates, an exact count.
    assert create_collection.fn(settings, new, data) == new_name
    assert index_split.fn(settings, new, data, "train", new_name) == 0
    assert index_split.fn(settings, new, data, "test", new_name) == 100
    assert finalize_collection.fn(settings, new_name, 500) == 500
    assert _ask(settings, lambda s: s.metadata(new_name)["complete"]) is True


def test_incremental_indexing_grows_and_shrinks_with_the_catalog(
    data_root: Path, tmp_path: Path
) -> None:
    def sized(n: int) -> Settings:
        return Settings(
            home=tmp_path, data_root=data_root, train_limit=n, test_limit=50, progress=False
        )

    small = sized(300)
    model = model_ref(_model(small, 0))
    data = prepare_data.fn(small)
    name = create_collection.fn(small, model, data)
    assert index_split.fn(small, model, data, "train", name) == 300

    grown = sized(450)  # 150 new items: only those are embedded
    assert index_split.fn(grown, model, prepare_data.fn(grown), "train", name) == 150
    assert _ask(grown, lambda s: s.count(name)) == 450

    shrunk = sized(200)  # 250 items gone: deleted, nothing embedded
    assert index_split.fn(shrunk, model, prepare_data.fn(shrunk), "train", name) == 0
    assert _ask(shrunk, lambda s: s.count(name)) == 200
    indexes = _ask(
        shrunk, lambda s: [p["index"] for p in s.payloads(name, _ids(shrunk, 450)).values()]
    )
    assert sorted(indexes) == list(range(200))


def _ids(settings: Settings, n: int) -> list[str]:
    from infra.store import point_id

    return [point_id(settings.dataset, "train", i) for i in range(n)]
