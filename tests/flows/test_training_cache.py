"""Training is skipped for the same config and data, and forced by --retrain."""

from __future__ import annotations

from pathlib import Path

from infra.settings import Settings
from tasks.data import prepare_data
from tasks.training import train_model


def test_same_config_and_data_reuse_the_checkpoint(data_root: Path, tmp_path: Path) -> None:
    base = {"home": tmp_path, "data_root": data_root, "train_limit": 512, "test_limit": 64}
    settings = Settings(**base, epochs=1, width=4, progress=False, projector_sample=0)
    data = prepare_data.fn(settings)
    first = train_model.fn(settings, data)
    assert not first.cached
    again = train_model.fn(settings, data)
    assert again.cached and again.model_version == first.model_version

    forced = train_model.fn(settings.model_copy(update={"retrain": True}), data)
    assert not forced.cached
    # Same seed, same data, same CPU: training is deterministic, so the version repeats.
    assert forced.model_version == first.model_version

    other = settings.model_copy(update={"seed": 1})
    assert not train_model.fn(other, data).cached
    smaller = Settings(**{**base, "train_limit": 256}, epochs=1, width=4, progress=False)
    assert not train_model.fn(smaller, prepare_data.fn(smaller)).cached
