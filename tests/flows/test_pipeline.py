"""The whole pipeline on a slice of Fashion-MNIST, under a real (temporary) Prefect API."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image

from app.cli import main
from catalogs.fashion_mnist import load_splits
from flows.index import Indexed, index_flow
from flows.pipeline import pipeline
from infra.checkpoints import load_checkpoint
from infra.settings import Settings
from infra.store import Condition, open_store, point_id
from model.data import DATASET
from model.labels import LABEL_NAMES
from search.reports import RunSummary

TRAIN, TEST = 3000, 500

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


@pytest.fixture(scope="module")
def run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, RunSummary]:
    settings = Settings(
        home=tmp_path_factory.mktemp("home"),
        data_root=data_root,
        train_limit=TRAIN,
        test_limit=TEST,
        epochs=2,
        width=16,
        progress=False,
        min_precision_at_1=0.5,  # the gate's floor for a 3,000-item slice, not the full data
    )
    return settings, pipeline(settings)


def _machine_choice() -> str:
    import torch

    from model.precision import chosen

    return chosen("auto", torch.device("cpu")).name


def test_the_collection_holds_exactly_the_slice(run: tuple[Settings, RunSummary]) -> None:
    settings, summary = run
    assert summary.points == TRAIN + TEST
    assert summary.collection == f"fashion-mnist-{summary.model.model_version}"
    assert summary.decision.promoted
    store = open_store(settings.store)
    try:
        assert store.resolve(settings.served_alias) == summary.collection
        served = settings.served_alias
        assert store.count(served, [Condition.equals("split", "train")]) == TRAIN
        assert store.count(served, [Condition.equals("split", "test")]) == TEST
        pid = point_id(DATASET, "test", 0)
        payload = store.payloads(served, [pid])[pid]
        meta = store.metadata(served)
    finally:
        store.close()
    assert meta["complete"] is True
    assert meta["model_version"] == summary.model.model_version
    assert meta["metrics"]["precision_at_1"] == summary.metrics["precision_at_1"]
    assert meta["embed_precision"] == "fp32"  # bf16 does not pay for the Fashion-MNIST CNN
    assert payload == {
        "item_id": "test-0",
        "index": 0,
        "label": 9,
        "label_name": LABEL_NAMES[9],
        "split": "test",
        "model_version": summary.model.model_version,
    }


def test_retrieval_is_far_above_chance(run: tuple[Settings, RunSummary]) -> None:
    _, summary = run
    # Chance is 0.1; two short epochs on 3,000 items reach about 0.8 here.
    assert summary.metrics["precision_at_1"] > 0.65
    assert summary.metrics["recall_at_10"] > 0.55
    assert summary.metrics["pixels_precision_at_1"] > 0.5
    assert len(summary.examples) == 3
    assert all(len(hits) == 5 for _, hits in summary.examples)


def test_checkpoint_records_config_fingerprint_and_metrics(
    run: tuple[Settings, RunSummary],
) -> None:
    _, summary = run
    ckpt = load_checkpoint(Path(summary.model.checkpoint))
    assert ckpt["model_version"] == summary.model.model_version
    assert ckpt["data_fingerprint"] == summary.source.fingerprint
    assert ckpt["config"]["train_limit"] == TRAIN
    assert ckpt["metrics"]["precision_at_1"] == summary.metrics["precision_at_1"]
    assert "qdrant_api_key" not in ckpt["config"]
    # What this machine computes natively: bf16 on AMX or AVX-512 BF16, fp32 elsewhere.
    assert ckpt["precision"]["name"] == _machine_choice()
    assert summary.model.precision.startswith(_machine_choice())
    assert list(Path(summary.model.tensorboard_dir).glob("**/events.out.tfevents.*"))


def test_indexing_again_embeds_nothing(run: tuple[Settings, RunSummary]) -> None:
    settings, summary = run
    assert summary.embedded == TRAIN + TEST
    again = index_flow(settings, summary.model, summary.source)
    assert again == Indexed(summary.collection, TRAIN + TEST, embedded=0, unchanged=True)


def test_cli_similar_answers_from_the_index(
    run: tuple[Settings, RunSummary], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = run
    home = ["--home", str(settings.home)]
    assert main(["similar", "test-3", "-k", "7", *home]) == 0
    lines = [
        ln for ln in capsys.readouterr().out.splitlines() if ln.strip()[:2].strip(".").isdigit()
    ]
    assert len(lines) == 7
    assert all("test-3 " not in ln for ln in lines)
    assert main(["similar", "test-3", "-k", "4", "--label", "sandal", "bag", *home]) == 0
    hits = [ln for ln in capsys.readouterr().out.splitlines() if "score" in ln]
    assert len(hits) == 4 and all(("Sandal" in ln) or ("Bag" in ln) for ln in hits)


def test_cli_errors_are_one_clear_line(
    run: tuple[Settings, RunSummary], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = run
    assert main(["similar", "test-999999", "--home", str(settings.home)]) == 1
    assert "unknown item id" in capsys.readouterr().err
    assert main(["similar", "test-1", "--label", "hat", "--home", str(settings.home)]) == 1
    assert "known labels" in capsys.readouterr().err


def test_cli_image_query_finds_the_item_itself(
    run: tuple[Settings, RunSummary], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, summary = run
    _, test = load_splits(summary.source.location, TRAIN, TEST)
    png = tmp_path / "item.png"
    Image.fromarray(test.images[3].numpy()).convert("RGB").save(png)
    assert main(["similar", "--image", str(png), "-k", "3", "--home", str(settings.home)]) == 0
    first = next(ln for ln in capsys.readouterr().out.splitlines() if "score" in ln)
    assert "test-3 " in first and "score 1.0000" in first


def test_cli_recommend_and_index_ls(
    run: tuple[Settings, RunSummary], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, summary = run
    home = ["--home", str(settings.home)]
    liked = ["test-0", "test-11"]
    args = ["recommend", "--like", *liked, "--dislike", "test-1", "-k", "6", "--max-per-label", "3"]
    assert main([*args, *home]) == 0
    hits = [ln for ln in capsys.readouterr().out.splitlines() if "score" in ln]
    assert len(hits) == 6 and not any(f"{i} " in ln for ln in hits for i in [*liked, "test-1"])
    assert main(["index", "ls", *home]) == 0
    out = capsys.readouterr().out
    assert f"* {summary.collection}" in out and str(TRAIN + TEST) in out


def test_projector_files_agree_with_the_sample(run: tuple[Settings, RunSummary]) -> None:
    settings, summary = run
    tb = Path(summary.model.tensorboard_dir)
    config = next(tb.glob("**/projector_config.pbtxt")).read_text()
    assert "sprite" in config and "metadata.tsv" in config
    metadata = next(tb.glob("**/metadata.tsv")).read_text().splitlines()
    assert metadata[0].split("\t") == ["label_name", "split", "item_id"]
    assert len(metadata) - 1 == min(settings.train.projector_sample, TEST)
    assert next(tb.glob("**/sprite.png")).stat().st_size > 0
    tensors = next(tb.glob("**/tensors.tsv")).read_text().splitlines()
    assert len(tensors) == min(settings.train.projector_sample, TEST)


def test_cli_evaluate_prints_the_embedding_table(
    run: tuple[Settings, RunSummary], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = run
    home = ["--home", str(settings.home), "--data-root", str(settings.data.data_root)]
    limits = ["--train-limit", str(TRAIN), "--test-limit", str(TEST)]
    assert main(["evaluate", *home, *limits]) == 0
    out = capsys.readouterr().out
    assert "map_at_r" in out and "knn_accuracy" in out
    rows = {
        ln.split()[0]: ln
        for ln in out.splitlines()
        if ln.strip().startswith(("learned", "raw", "PCA"))
    }
    assert set(rows) == {"learned", "raw", "PCA-64"}


def test_run_publishes_artifacts_and_the_example_grid(run: tuple[Settings, RunSummary]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    settings, summary = run
    keys = ["lookalike-metrics", "lookalike-run-report", "lookalike-problems", "index"]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
        )
    assert {a.key for a in found} == set(keys)
    reports = [str(a.data) for a in found if a.key == "lookalike-run-report"]
    assert any(f"model `{summary.model.model_version}`" in r for r in reports)
    png = settings.runs_dir / settings.dataset / summary.model.model_version / "examples.png"
    assert Image.open(png).size == (84 * 6 + 8, 84 * 3)  # 3x Fashion-MNIST thumbnails


def test_the_run_leaves_its_export_and_the_cli_writes_one(
    run: tuple[Settings, RunSummary], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, summary = run
    assert summary.export and summary.export["items"] == TRAIN + TEST
    made = pq.read_table(summary.export["path"])
    assert made.num_rows == (TRAIN + TEST) * settings.export.export_k
    home = ["--home", str(settings.home)]
    out = tmp_path / "n.parquet"
    args = ["export", "-k", "3", "--same", "split", "--format", "csv", "--out", str(out)]
    assert main([*args, *home]) == 0
    table = pq.read_table(out)
    pairs = zip(table["item_id"].to_pylist(), table["neighbour_id"].to_pylist(), strict=True)
    assert table.num_rows == (TRAIN + TEST) * 3
    assert all(a.split("-")[0] == b.split("-")[0] for a, b in pairs)  # --same split
    assert len(out.with_suffix(".csv").read_text().splitlines()) == table.num_rows + 1
    assert main(["export", "--same", "colour", *home]) == 1
    assert "no payload field 'colour' to match on" in capsys.readouterr().err
