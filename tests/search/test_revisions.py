"""Revisions: a served collection on the embedded store is copied, never written; a server
writes in place; unchanged items write nothing. The same test bodies on every backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infra.store import PointBatch, StoreBusyError, VectorStore, point_id
from infra.store.base import CollectionSpec
from infra.store.edge import EdgeStore
from search.indexing import finalize
from search.promotion import find_version, list_indexes
from search.revisions import items_digest, writable

ALIAS = "lookalike-toy"
BASE = "toy-v1aaaa"


def _ids(n: int) -> list[str]:
    return [point_id("toy", "train", i) for i in range(n)]


def _write(store: VectorStore, name: str, n: int, digest: str) -> None:
    store.ensure_collection(CollectionSpec(name, 4, metadata={"model_version": "v1aaaa"}))
    vectors = np.eye(n, 4, dtype=np.float32) + 0.1
    payloads = [{"item_id": f"train-{i}"} for i in range(n)]
    store.upsert(name, PointBatch(_ids(n), vectors, payloads))
    store.set_metadata(name, {"items_digest": digest})
    finalize(store, name, n, 0.0)


def test_digest_follows_ids_and_payloads() -> None:
    ids, payloads = _ids(3), [{"item_id": f"train-{i}", "a": i} for i in range(3)]
    assert items_digest(ids, payloads) == items_digest(ids, [dict(p) for p in payloads])
    assert items_digest(ids, payloads) != items_digest(ids[:2], payloads[:2])
    changed = [*payloads[:2], {"item_id": "train-2", "a": 9}]
    assert items_digest(ids, payloads) != items_digest(ids, changed)


def test_a_served_collection_is_copied_on_the_embedded_store_and_written_in_place_on_a_server(
    store: VectorStore,
) -> None:
    assert writable(store, BASE, "d1").collection == BASE  # nothing yet: the base itself
    _write(store, BASE, 5, "d1")

    same = writable(store, BASE, "d1")
    assert same.unchanged and same.collection == BASE

    assert writable(store, BASE, "d2").collection == BASE  # not served: written in place
    store.set_alias(ALIAS, BASE)
    changed = writable(store, BASE, "d2")
    assert not changed.unchanged
    if store.writes_while_served:
        assert changed == type(changed)(BASE, None, False)
        return
    assert (changed.collection, changed.derived_from) == (f"{BASE}-r2", BASE)
    copy = changed.collection
    # The copy holds the served points already: a grown catalog embeds only its new items.
    assert store.count(copy) == 5 and set(store.vectors(copy, _ids(5))) == set(_ids(5))
    assert store.metadata(copy)["derived_from"] == BASE
    assert not store.metadata(copy)["complete"] and store.metadata(copy)["metrics"] == {}
    _write(store, copy, 7, "d2")
    assert store.resolve(ALIAS) == BASE and store.count(BASE) == 5  # the served one untouched

    infos = {i.collection: i for i in list_indexes(store, ALIAS, "toy")}
    assert infos[copy].meta.derived_from == BASE and infos[copy].points == 7
    assert find_version(store, "toy", "v1") == copy  # a version means its newest revision
    assert find_version(store, "toy", "v1aaaa") == copy
    assert find_version(store, "toy", "v1aaaa-r2") == copy
    store.set_alias(ALIAS, copy)
    assert writable(store, BASE, "d3").collection == f"{BASE}-r3"


def test_a_collection_open_in_another_store_is_copied_not_opened(tmp_path: Path) -> None:
    """What `lookalike api` does to a writer: it holds the served collection open."""
    root = tmp_path / "qdrant"
    with EdgeStore(root) as writer:
        _write(writer, BASE, 5, "d1")
        writer.set_alias(ALIAS, BASE)
    reader = EdgeStore(root)
    assert reader.count(ALIAS) == 5  # opens it, as the API does
    with EdgeStore(root) as writer:
        with pytest.raises(StoreBusyError):
            writer.count(BASE)
        revision = writable(writer, BASE, "d2")
        _write(writer, revision.collection, 6, "d2")
        writer.set_alias(ALIAS, revision.collection)
    assert reader.count(ALIAS) == 6  # the reader follows the alias to the new revision
    with EdgeStore(root) as writer:
        writer.set_alias(ALIAS, BASE)  # a rollback: the reader still has the newest open
        assert reader.count(ALIAS) == 5
        again = writable(writer, BASE, "d3")
        assert (again.collection, again.derived_from) == (f"{BASE}-r3", f"{BASE}-r2")
    reader.close_collection(BASE)
    with EdgeStore(root) as other:
        assert other.count(BASE) == 5  # released: another process may open it now
    reader.close()
