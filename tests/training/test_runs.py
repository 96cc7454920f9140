"""A training run (training.runs, what the train task and app.ddp call): skipped for the same
config and data, forced by --retrain."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from infra.settings import Settings
from tasks.sources import scan_source
from training.runs import train_fashion_mnist as train_model


def test_same_config_and_data_reuse_the_checkpoint(data_root: Path, tmp_path: Path) -> None:
    base = {"home": tmp_path, "data_root": data_root, "train_limit": 512, "test_limit": 64}
    settings = Settings(**base, epochs=1, width=4, progress=False, projector_sample=0)
    data = scan_source.fn(settings)
    first = train_model(settings, data)
    assert not first.cached
    again = train_model(settings, data)
    assert again.cached and again.model_version == first.model_version
    assert again.precision == first.precision  # read back from the checkpoint
    # The machine's recipe (amx or default), its epochs given: named, and read back too.
    assert first.recipe.endswith(", 1 epoch") and again.recipe == first.recipe

    forced = train_model(settings.with_(retrain=True), data)
    assert not forced.cached
    # Same seed, same data, same CPU: training is deterministic, so the version repeats.
    assert forced.model_version == first.model_version

    other = settings.with_(seed=1)
    assert not train_model(other, data).cached
    smaller = Settings(**{**base, "train_limit": 256}, epochs=1, width=4, progress=False)
    assert not train_model(smaller, scan_source.fn(smaller)).cached


def test_a_killed_training_run_resumes_from_its_last_epoch(data_root: Path, tmp_path: Path) -> None:
    import torch

    from catalogs.fashion_mnist import load_splits
    from infra.checkpoints import save_partial
    from model.precision import chosen
    from model.train import TrainState, pick_device, train
    from training.runs import net_config, train_config, training_key

    def settings_in(home: Path) -> Settings:
        return Settings(
            home=home,
            data_root=data_root,
            train_limit=512,
            test_limit=64,
            epochs=2,
            width=4,
            progress=False,
            projector_sample=0,
        )

    straight = train_model(settings_in(tmp_path / "a"), scan_source.fn(settings_in(tmp_path / "a")))

    # Home b: a run that "dies" after epoch 1, leaving the state the task saves each epoch.
    b = settings_in(tmp_path / "b")
    data = scan_source.fn(b)
    train_split, _ = load_splits(data.location, b.data.train_limit, b.data.test_limit)
    precision = chosen(b.train.precision, pick_device("cpu"))
    partial = b.checkpoint_dir / f"partial-{training_key(b.train, precision, data.fingerprint)}.pt"
    # Its epoch comes from another seed, so a run that ignored the saved state (and trained
    # from scratch, deterministically) would end exactly like the straight run.
    one_epoch: list[TrainState] = []
    train(
        train_split,
        net_config(b.train),
        replace(train_config(b.train, precision), seed=1),
        pick_device("cpu"),
        on_epoch_end=one_epoch.append,
        progress=False,
    )
    save_partial(partial, {**one_epoch[0].to_dict(), "tensorboard_dir": str(tmp_path / "tb")})

    resumed = train_model(b, data)
    assert resumed.model_version != straight.model_version
    assert not partial.exists()
    assert (
        torch.load(resumed.checkpoint, weights_only=True)["history"][0] == one_epoch[0].history[0]
    )
    straight_first = torch.load(straight.checkpoint, weights_only=True)["history"][0]
    assert straight_first != one_epoch[0].history[0]


def test_the_precision_is_recorded_and_either_embeds_the_other(
    data_root: Path, tmp_path: Path
) -> None:
    import torch
    import torch.nn.functional as F

    from infra.checkpoints import load_checkpoint
    from model.data import load_split
    from training.runs import load_embedder

    base = {"home": tmp_path, "data_root": data_root, "train_limit": 2000, "test_limit": 64}
    settings = Settings(**base, epochs=1, width=8, progress=False, projector_sample=0)
    data = scan_source.fn(settings)
    images = load_split(data_root, "test").images[:128, None]
    refs = {p: train_model(settings.with_(precision=p), data) for p in ("fp32", "bf16")}
    # Another precision is another run, never the cached weights of the first.
    assert refs["fp32"].model_version != refs["bf16"].model_version
    for trained_in, ref in refs.items():
        payload = load_checkpoint(Path(ref.checkpoint))
        assert payload["precision"]["name"] == trained_in
        assert payload["train_config"]["bf16"] is (trained_in == "bf16")
        assert payload["machine"]["cpu"]
        assert ref.precision.startswith(trained_in)
        with torch.inference_mode():
            fp32 = load_embedder(ref.checkpoint, bf16=False)(images)
            bf16 = load_embedder(ref.checkpoint, bf16=True)(images)
        assert not torch.equal(fp32, bf16)  # each precision really ran
        assert F.cosine_similarity(fp32, bf16).min() >= 0.999
