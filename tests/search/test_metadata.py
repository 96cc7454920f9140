"""The collection record: one typed model. Records written by earlier versions read as they are
(an index built before the move is served and re-indexed without re-embedding)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.settings import Settings
from infra.store import open_store
from infra.store.base import CollectionSpec
from search.metadata import CollectionMeta, read_meta, write_meta

# What a8bcc48 recorded for a Fashion-MNIST collection (its keys, as read from one it built).
BEFORE = {
    "build_seconds": 0.0035,
    "checkpoint": "checkpoints/587eb1ef1cfb.pt",
    "complete": True,
    "created_at": "2026-12-02T03:50:01+0000",
    "data_fingerprint": "91c3b53f7d7d4e9e",
    "dataset": "fashion-mnist",
    "embed_upsert_seconds": 0.69,
    "fields": {"item_id": "str", "label": "int", "label_name": "str", "split": "str"},
    "items_digest": "f0896ada3b49052e",
    "kind": "fashion-mnist",
    "labels": ["T-shirt/top", "Trouser"],
    "metrics": {"precision_at_1": 0.654, "pixels_leaked_at_0.95": 224.0},
    "model_version": "587eb1ef1cfb",
    "points": 2500,
    "root": "data/FashionMNIST/raw",
    "source": "data",
}


def test_a_record_of_an_earlier_version_reads_whole() -> None:
    meta = CollectionMeta.model_validate(BEFORE)
    assert meta.model_dump(mode="json", exclude_unset=True) == BEFORE
    assert (meta.kind, meta.served_points, meta.precision_at_1) == ("fashion-mnist", 2500, 0.654)


def test_the_oldest_records_lack_fields_and_still_read() -> None:
    """Before kinds, fields and datasets were recorded: Fashion-MNIST, fields from a point."""
    meta = CollectionMeta.model_validate({"model_version": "abc", "checkpoint": "x.pt"})
    assert meta.kind is None and meta.fields is None and meta.labels == []
    assert meta.served_points is None  # not marked complete: listed as being written
    kept = CollectionMeta.model_validate({"model_version": "abc", "a_later_key": 1})
    assert kept.model_dump()["a_later_key"] == 1  # a key this version does not know is kept


def test_written_and_read_through_one_module(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    with open_store(settings.store) as store:
        store.ensure_collection(CollectionSpec("toy-v1", 4, metadata=dict(BEFORE)))
        write_meta(store, "toy-v1", metrics={"precision_at_1": 0.9}, complete=True)
        meta = read_meta(store, "toy-v1")
        assert meta.precision_at_1 == 0.9 and meta.items_digest == BEFORE["items_digest"]
        with pytest.raises(TypeError, match="not collection metadata: colour"):
            write_meta(store, "toy-v1", colour="red")
        with pytest.raises(ValueError, match="points"):
            write_meta(store, "toy-v1", points="many")
