"""The documented qdrant-client snippet, run against an index that Lookalike's own flow built."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

from flows.index import index_flow
from infra.settings import Settings
from infra.store import Condition, open_store
from infra.store.server import ServerStore
from tasks.sources import scan_source
from tests.conftest import random_checkpoint
from training.runs import model_ref

ROOT = Path(__file__).resolve().parents[2]
# The snippet lives on the README's page for consumers: the README itself, or docs/api.md.
PAGES = [ROOT / "README.md", ROOT / "docs" / "api.md"]
CLIENT_LINE = 'client = QdrantClient(url="http://127.0.0.1:6333", api_key="...")'

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


def _snippet() -> str:
    """The first Python block that connects a qdrant-client, on the first page that has one."""
    for page in PAGES:
        if page.is_file():
            for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S):
                if "QdrantClient(" in block:
                    return str(block)
    raise AssertionError(f"no qdrant-client snippet in {', '.join(p.name for p in PAGES)}")


def _cosines(store: ServerStore, collection: str) -> dict[str, tuple[str, float]]:
    """Each Sneaker's and Sandal's label and cosine similarity to test-42, from the stored
    vectors: what the snippet's answer must be, computed without Qdrant's scoring."""
    (query_id,) = store.find_ids(collection, [Condition.equals("item_id", "test-42")], 2)
    shoes = [Condition("label_name", any_of=("Sneaker", "Sandal"))]
    ids = [i for i in store.find_ids(collection, shoes, 10_000) if i != query_id]
    vectors = store.vectors(collection, [query_id, *ids])
    payloads = store.payloads(collection, ids)
    q = vectors[query_id] / np.linalg.norm(vectors[query_id])
    out = {}
    for i in ids:
        v = vectors[i] / np.linalg.norm(vectors[i])
        out[payloads[i]["item_id"]] = (payloads[i]["label_name"], float(q @ v))
    return out


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

    code = _snippet().replace(CLIENT_LINE, "client = _client")
    assert "client = _client" in code, "the snippet's client line changed: update this test"
    out = io.StringIO()
    scope = {"_client": store.client}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), scope)
    lines = out.getvalue().splitlines()
    truth = _cosines(store, indexed.collection)
    assert len(truth) > 10  # the slice holds more sneakers and sandals than the snippet's limit
    assert len(lines) == 10, lines  # limit=10
    scores = []
    for line in lines:
        item, *label, score = line.split()
        assert item != "test-42" and item in truth, line
        assert " ".join(label) == truth[item][0] and float(score) == pytest.approx(
            truth[item][1], abs=6e-5
        ), (line, truth[item])
        scores.append(float(score))
    assert scores == sorted(scores, reverse=True)
    # The ten nearest shoes, by brute force: the same scores (ties may swap ids).
    best = sorted((cos for _, cos in truth.values()), reverse=True)[:10]
    assert scores == pytest.approx(best, abs=6e-5)
