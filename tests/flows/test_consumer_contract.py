"""The README's qdrant-client snippet, run against an index that Lookalike's own code built."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import torch

from infra.checkpoints import save_checkpoint
from infra.settings import Settings
from infra.store import open_store
from infra.store.server import ServerStore
from model.net import EmbeddingNet, EmbeddingNetConfig
from tasks.data import prepare_data
from tasks.indexing import create_collection, finalize_collection, index_split
from tasks.training import model_ref

README = Path(__file__).resolve().parents[2] / "README.md"


def _snippet() -> str:
    text = README.read_text()
    section = text[text.index("## Query it from your service") :]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


def test_readme_snippet_queries_the_alias(data_root: Path, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        data_root=data_root,
        qdrant_url=":memory:",
        train_limit=300,
        test_limit=60,
        progress=False,
    )
    torch.manual_seed(0)
    net = EmbeddingNet(EmbeddingNetConfig(width=8))
    ckpt = save_checkpoint(
        settings.checkpoint_dir,
        {"state_dict": net.state_dict(), "model_args": net.config.to_dict()},
    )
    model, data = model_ref(str(ckpt)), prepare_data.fn(settings)
    collection = create_collection.fn(settings, model, data)
    for split in ("train", "test"):
        index_split.fn(settings, model, data, split, collection)
    assert finalize_collection.fn(settings, collection, 360) == 360
    store = open_store(settings)
    store.set_alias(settings.served_alias, collection)
    assert isinstance(store, ServerStore)

    code = _snippet().replace(
        'client = QdrantClient(url="http://127.0.0.1:6333", api_key="...")', "client = _client"
    )
    assert "client = _client" in code, "the README's client line changed: update this test"
    out = io.StringIO()
    scope = {"_client": store.client}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), scope)
    lines = out.getvalue().splitlines()
    assert 1 <= len(lines) <= 10
    for line in lines:
        item, *label, score = line.split()
        assert item != "test-42" and " ".join(label) in ("Sneaker", "Sandal")
        assert -1.0 <= float(score) <= 1.0
