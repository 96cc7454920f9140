"""The store-only commands a newcomer meets first: `index ls` over every dataset, and the alias
`lookalike api` serves when the user names none."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from infra.settings import Settings
from infra.store import StoreError, open_store
from search.metadata import WeakFilter, write_meta
from search.promotion import choose_alias
from tests.app.conftest import served_collection


def _second_dataset(settings: Settings) -> None:
    """A catalog's collection beside Fashion-MNIST's, behind its own alias."""
    with open_store(settings.store) as store:
        store.copy_collection("surfaces-v1", "shop-v2")
        store.set_metadata("shop-v2", {"dataset": "shop", "model_version": "v2"})
        store.set_alias("lookalike-shop", "shop-v2")


def test_index_ls_lists_every_dataset_unless_one_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = served_collection(tmp_path)
    _second_dataset(settings)
    weak = {
        "label": {"3": WeakFilter(recall=0.66, hnsw_ef=1024)},
        "colour": {"red": WeakFilter(recall=0.5, hnsw_ef=None)},
    }
    with open_store(settings.store) as store:
        write_meta(store, "shop-v2", weak_filters=weak)
    assert main(["index", "ls", "--home", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no indexes yet" not in out
    assert "filters served wider: colour=red (0.50, scanned), label=3 (0.66, beam 1024)" in out
    assert "lookalike-shop -> shop-v2" in out and "shop-v2" in out
    # The first collection records no dataset: its name, less the model version, says it.
    assert "surfaces, alias lookalike-fashion-mnist -> surfaces-v1" in out
    assert main(["index", "ls", "--home", str(tmp_path), "--dataset", "shop"]) == 0
    named = capsys.readouterr().out
    assert "shop-v2" in named and "surfaces-v1" not in named


def test_an_empty_store_says_how_to_fill_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "ls", "--home", str(tmp_path)]) == 0
    assert "no indexes yet: run `lookalike run`" in capsys.readouterr().out


def test_the_api_serves_the_only_alias_or_asks_which() -> None:
    default = "lookalike-fashion-mnist"
    assert choose_alias({}, default, chosen=False) == default  # nothing yet: 503 until a run
    assert choose_alias({default: "a", "lookalike-shop": "b"}, default, False) == default
    assert choose_alias({"lookalike-shop": "b"}, default, chosen=False) == "lookalike-shop"
    assert choose_alias({"lookalike-shop": "b"}, default, chosen=True) == default
    with pytest.raises(StoreError, match="lookalike-a, lookalike-b; pick one with --alias"):
        choose_alias({"lookalike-a": "x", "lookalike-b": "y"}, default, chosen=False)
