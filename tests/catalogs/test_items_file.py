"""Indexing reads a scan's items in chunks or at positions, never the whole list: the reader
must give back exactly the items the scan wrote, and refuse a file that lost or gained lines."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from catalogs.base import Item
from catalogs.scan import ItemsFile
from infra.files import write_json_lines_atomically


def _items(n: int) -> list[Item]:
    return [
        Item(f"p{i}", "catalog", f"p{i}", f"l{i % 3}", {"colour": "é" * (i % 4), "n": i})
        for i in range(n)
    ]


def _file(tmp_path: Path, items: list[Item]) -> Path:
    path = tmp_path / "items.jsonl"
    write_json_lines_atomically(path, [asdict(i) for i in items])
    return path


def test_chunks_and_positions_give_back_the_scanned_items(tmp_path: Path) -> None:
    items = _items(23)
    reader = ItemsFile(_file(tmp_path, items), len(items))
    chunks = list(reader.chunks(10))
    assert [start for start, _ in chunks] == [0, 10, 20]
    assert [i for _, chunk in chunks for i in chunk] == items
    positions = [22, 0, 7, 7, 13]  # any order, repeats, multi-byte text before them
    assert reader.at(positions) == [items[p] for p in positions]


@pytest.mark.parametrize("count", [22, 24])
def test_a_file_that_does_not_hold_the_scanned_count_is_refused(tmp_path: Path, count: int) -> None:
    reader = ItemsFile(_file(tmp_path, _items(23)), count)
    with pytest.raises(RuntimeError, match="items"):
        list(reader.chunks(10))
    with pytest.raises(RuntimeError, match="items"):
        reader.at([0])


def test_one_pass_survey_matches_the_whole_list(tmp_path: Path) -> None:
    """The digest read chunk by chunk is the digest of the whole list, so collections indexed
    before indexing streamed still count as unchanged; the fields are every item's."""
    from catalogs.base import SourceInfo
    from search import indexing
    from search.revisions import items_digest

    items = [*_items(indexing.CHUNK + 7), Item("z", "catalog", "z", None, {"w": 1.5}, "a.jpg")]
    path = _file(tmp_path, items)
    info = SourceInfo(
        "files", "m.csv", str(tmp_path), str(path), len(items), ["l0", "l1", "l2"], "f"
    )
    target = indexing.Target(None, "c", "shop", info, ItemsFile(path, len(items)), "v1")  # type: ignore[arg-type]
    found = indexing.survey(target)
    ids, payloads = indexing.point_ids("shop", items), target.payloads(items)
    assert found.digest == items_digest(ids, payloads)
    assert found.kinds == {"colour": {str}, "n": {int}, "w": {float}}
    assert found.labelled and found.with_files
