"""Readers share a served collection on the embedded store: any number of processes open it,
query it and close it, its files stay as they were, and meanwhile writers and prune are refused
with a clear error."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from infra.store import PointBatch, Search, StoreBusyError, point_id
from infra.store.base import CollectionSpec
from infra.store.edge import EdgeStore
from model.metrics import l2_normalise

N, DIM, READERS = 200, 8, 3
READER = """
import sys
from pathlib import Path
import numpy as np
from infra.store import Search
from infra.store.edge import EdgeStore
store = EdgeStore(Path(sys.argv[1]), read_only=True)
hits = store.query("items", np.ones((1, {dim}), np.float32), Search(5))[0]
assert len(hits) == 5 and store.count("items") == {n}
print("open", flush=True)
sys.stdin.readline()  # hold the collection open until the test says
store.close()
print("closed", flush=True)
"""


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _collection(root: Path) -> None:
    vectors = l2_normalise(np.random.default_rng(0).standard_normal((N, DIM)).astype(np.float32))
    with EdgeStore(root) as store:
        store.ensure_collection(CollectionSpec("items", DIM))
        ids = [point_id("toy", "train", i) for i in range(N)]
        store.upsert("items", PointBatch(ids, vectors, [{"item_id": f"train-{i}"} for i in ids]))
        store.finalize("items")


def test_readers_share_a_collection_and_leave_its_files_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "qdrant"
    _collection(root)
    before = _digest(root / "items")
    code = READER.format(dim=DIM, n=N)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(READERS)
    ]
    try:
        for r in readers:
            assert r.stdout is not None and r.stdout.readline().strip() == "open"
        # This process reads too, beside them.
        with EdgeStore(root, read_only=True) as mine:
            assert len(mine.query("items", np.ones((1, DIM), np.float32), Search(3))[0]) == 3
        # A writer, or prune, is kept out while readers have it open.
        writer = EdgeStore(root)
        with pytest.raises(StoreBusyError):
            writer.count("items")
        with pytest.raises(StoreBusyError):
            writer.delete_collection("items")
        assert (root / "items").is_dir()
    finally:
        for r in readers:
            assert r.stdin is not None
            r.stdin.write("\n")
            r.stdin.flush()
        outs = [r.communicate(timeout=60)[0] for r in readers]
    assert all(r.returncode == 0 for r in readers) and all("closed" in o for o in outs)
    assert _digest(root / "items") == before
    # Once they let go, the writer has it, and prune may delete it.
    writer.delete_collection("items")
    assert not (root / "items").exists()


def test_a_reader_refuses_to_write(tmp_path: Path) -> None:
    root = tmp_path / "qdrant"
    _collection(root)
    with EdgeStore(root, read_only=True) as reader:
        batch = PointBatch([point_id("toy", "train", 0)], np.ones((1, DIM), np.float32), [{}])
        with pytest.raises(Exception, match="only reads"):
            reader.upsert("items", batch)
