from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from infra.settings import SECTIONS, Settings, env_example
from model.configs import EmbeddingNetConfig, FineTuneConfig, TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def test_env_prefix_and_overrides(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKALIKE_EPOCHS", "7")
    monkeypatch.setenv("LOOKALIKE_QDRANT_API_KEY", "s3cret")
    s = make_settings()
    assert s.train.epochs == 7
    assert make_settings(epochs=2).train.epochs == 2
    assert "s3cret" not in repr(s) and "s3cret" not in s.model_dump_json()
    assert "qdrant_api_key" not in s.public()


def test_flat_names_route_to_their_sections(make_settings: Callable[..., Settings]) -> None:
    s = make_settings(qdrant_url=":memory:", index_workers=2, backbone="resnet50", dataset="x")
    assert (s.store.qdrant_url, s.index.index_workers, s.embedder.backbone) == (
        ":memory:",
        2,
        "resnet50",
    )
    assert s.dataset == "x" and s.served_alias == "lookalike-x"
    changed = s.with_(seed=3, home=s.home / "other")
    assert changed.train.seed == 3 and changed.index.index_workers == 2
    assert changed.store.qdrant_path == s.home / "other" / "qdrant"
    names = [n for cls in SECTIONS.values() for n in cls.model_fields]
    assert len(names) == len(set(names)), "a flat name must belong to one section"


def test_paths_are_absolute_and_derived(make_settings: Callable[..., Settings]) -> None:
    s = make_settings(home="relative/home")
    assert s.home.is_absolute()
    assert s.store.path == s.home / "qdrant"
    assert s.store.backend == "embedded"
    assert make_settings(qdrant_url=":memory:").store.backend == "server"


def test_every_field_is_described() -> None:
    models = [Settings, *SECTIONS.values()]
    missing = [n for m in models for n, f in m.model_fields.items() if not f.description]
    assert missing == []


def test_model_defaults_live_in_the_model_configs() -> None:
    s = Settings()
    assert s.train.epochs == TrainConfig.epochs and s.train.margin == TrainConfig.margin
    assert s.train.augment == TrainConfig.augment
    assert s.train.width == EmbeddingNetConfig.width
    assert s.train.temperature == 1 / TrainConfig.scale
    assert s.embedder.finetune_epochs == FineTuneConfig.epochs


def test_env_example_is_generated_from_the_settings() -> None:
    example = (ROOT / ".env.example").read_text()
    assert example == env_example(), "run `python -m infra.settings` to regenerate .env.example"
    assert "# LOOKALIKE_EPOCHS=6" in example and "# LOOKALIKE_QDRANT_URL=" in example


def test_bad_values_are_refused(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="epochs"):
        make_settings(epochs=0)


def test_recipe_presets_fill_only_what_is_not_set(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    default = make_settings().train
    assert default.epochs == 6 and not default.augment and default.margin == 0.1
    fast = make_settings(recipe="fast")
    assert (fast.train.epochs, fast.data.train_limit) == (1, 3000)
    gpu = make_settings(recipe="gpu").train
    assert gpu.augment and gpu.epochs == 40 and gpu.width == 64 and gpu.margin == 0.1
    assert make_settings(recipe="gpu", epochs=12).train.epochs == 12
    monkeypatch.setenv("LOOKALIKE_RECIPE", "gpu")
    monkeypatch.setenv("LOOKALIKE_WIDTH", "24")
    from_env = make_settings().train
    assert from_env.recipe == "gpu" and from_env.width == 24 and from_env.epochs == 40


def test_auto_recipe_becomes_the_machines_preset(
    make_settings: Callable[..., Settings],
) -> None:
    auto = make_settings()
    assert auto.train.recipe == "auto"
    on_cpu = auto.for_training_on("default").train
    assert on_cpu == auto.train.model_copy(update={"recipe": "default"})
    on_gpu = auto.for_training_on("gpu").train
    assert (on_gpu.epochs, on_gpu.width, on_gpu.augment) == (40, 64, True)
    assert on_gpu.recipe == "gpu"  # recorded in the checkpoint's config as what ran
    on_amx = auto.for_training_on("amx").train
    assert (on_amx.epochs, on_amx.width, on_amx.recipe) == (8, 32, "amx")
    given = make_settings(epochs=3).for_training_on("gpu").train
    assert given.epochs == 3 and given.width == 64  # what was set stays
    fixed = make_settings(recipe="default")
    assert fixed.for_training_on("gpu").train.epochs == 6
