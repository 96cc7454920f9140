"""The README's qdrant-client snippet, run against an index that Lookalike's own flow built."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from flows.index import index_flow
from infra.settings import Settings
from infra.store import open_store
from infra.store.server import ServerStore
from tasks.sources import scan_source
from tests.conftest import random_checkpoint
from training.runs import model_ref

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


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
    model = model_ref(random_checkpoint(settings.checkpoint_dir))
    indexed = index_flow(settings, model, scan_source(settings))
    assert indexed.points == 360
    store = open_store(settings.store)
    store.set_alias(settings.served_alias, indexed.collection)
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
    assert len(lines) == 10  # limit=10, and the slice holds more sneakers and sandals than that
    scores = []
    for line in lines:
        item, *label, score = line.split()
        assert item != "test-42" and " ".join(label) in ("Sneaker", "Sandal")
        scores.append(float(score))
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
