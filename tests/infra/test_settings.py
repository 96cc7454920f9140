from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from infra.settings import Settings


def test_env_prefix_and_overrides(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKALIKE_EPOCHS", "7")
    monkeypatch.setenv("LOOKALIKE_QDRANT_API_KEY", "s3cret")
    s = make_settings()
    assert s.epochs == 7
    assert make_settings(epochs=2).epochs == 2
    assert "s3cret" not in repr(s) and "s3cret" not in s.model_dump_json()


def test_paths_are_absolute_and_derived(make_settings: Callable[..., Settings]) -> None:
    s = make_settings(home="relative/home")
    assert s.home.is_absolute()
    assert s.store_path == s.home / "qdrant"
    assert s.backend == "embedded"
    assert make_settings(qdrant_url=":memory:").backend == "server"


def test_every_field_is_described() -> None:
    missing = [n for n, f in Settings.model_fields.items() if not f.description]
    assert missing == []


def test_bad_values_are_refused(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="epochs"):
        make_settings(epochs=0)


def test_recipe_presets_fill_only_what_is_not_set(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    default = make_settings()
    assert default.epochs == 6 and not default.augment and default.margin == 0.1
    fast = make_settings(recipe="fast")
    assert (fast.epochs, fast.train_limit) == (1, 3000)
    long = make_settings(recipe="long")
    assert long.augment and long.epochs == 20 and long.margin == 0.1
    assert make_settings(recipe="long", epochs=12).epochs == 12
    monkeypatch.setenv("LOOKALIKE_RECIPE", "long")
    monkeypatch.setenv("LOOKALIKE_WIDTH", "24")
    from_env = make_settings()
    assert from_env.recipe == "long" and from_env.width == 24 and from_env.epochs == 20
