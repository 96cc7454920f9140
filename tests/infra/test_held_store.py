"""A run's writer holds one embedded store open; afterwards the collection is free again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from infra.settings import Settings
from infra.store import Condition, PointBatch, held_store, open_store, point_id
from infra.store.base import CollectionSpec
from infra.store.edge import EdgeStore


def test_held_store_is_shared_inside_and_released_after(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    with held_store(settings.store):
        first = open_store(settings.store)
        first.ensure_collection(CollectionSpec("items", 4))
        first.upsert(
            "items",
            PointBatch(
                ids=[point_id("toy", "train", 0)],
                vectors=np.ones((1, 4), dtype=np.float32) / 2,
                payloads=[{"label": 1}],
            ),
        )
        first.close()  # only flushes while held
        second = open_store(settings.store)
        assert second is first
        assert second.count("items") == 1
    # Released: a new store (another process, in production) can open the collection.
    after = open_store(settings.store)
    try:
        assert after is not first and after.count("items") == 1
    finally:
        after.close()


_WRITER = """
import os, sys
from pathlib import Path
import numpy as np
from infra.store.base import CollectionSpec, PointBatch, point_id
from infra.store.edge import EdgeStore

store = EdgeStore(Path(sys.argv[1]), keep_open=True)
store.ensure_collection(CollectionSpec("items", 8, integer_fields=("n",)))
for start in range(0, 1500, 250):
    ids = [point_id("toy", "train", i) for i in range(start, start + 250)]
    vectors = np.arange(start * 8, (start + 250) * 8, dtype=np.float32).reshape(250, 8) + 1
    store.upsert("items", PointBatch(ids, vectors, [{"n": i} for i in range(start, start + 250)]))
    if start + 250 == 1000:
        store.close()  # held open: this flushes, as the index flow does after each shard
        print("flushed", flush=True)
os._exit(0)  # killed mid-run: the last 500 points were never flushed
"""


def test_a_killed_writer_leaves_its_flushed_points_whole_and_the_collection_free(
    tmp_path: Path,
) -> None:
    """No write-ahead log: what a writer flushed survives its death intact, what it had not
    flushed may be lost (the index flow plans it again), and its lock dies with it."""
    root = tmp_path / "qdrant"
    out = subprocess.run(
        [sys.executable, "-c", _WRITER, str(root)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["flushed"]
    with EdgeStore(root) as store:  # the dead writer's lock is gone
        held = store.count("items")
        assert 1000 <= held <= 1500
        ids = store.find_ids("items", [], limit=2000)
        numbers = {pid: p["n"] for pid, p in store.payloads("items", ids).items()}
        assert set(range(1000)) <= set(numbers.values()) and len(numbers) == held
        vectors = store.vectors("items", ids)
        for pid, n in numbers.items():  # every point held is whole: its own vector
            expected = np.arange(n * 8, n * 8 + 8, dtype=np.float32) + 1
            assert np.allclose(vectors[pid], expected / np.linalg.norm(expected), atol=1e-6)
        assert store.count("items", [Condition.equals("n", 5)]) == 1  # its index is whole
