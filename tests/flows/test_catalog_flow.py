"""A generated product catalog indexed end to end with ResNet-18 (random init: no weights can be
downloaded here), off the shelf and fine-tuned, under a real (temporary) Prefect API."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from app.cli import main
from app.queries import QueryService
from catalogs.sample import SampleCatalog, product_shot, write_sample_catalog
from flows.deployments import scheduled_reindex
from flows.pipeline import pipeline
from infra.checkpoints import load_checkpoint
from infra.settings import Settings
from infra.store import Condition, open_store, point_id
from model.data import load_split, resolve_root
from search.export_run import export_neighbours
from search.metadata import read_meta
from search.options import QueryOptions
from search.query import ByExamples, similar_to_item
from search.reports import RunSummary
from search.request import QueryArgs
from tasks.export import spec_from
from tests.manifests import rewrite_manifest

SPLIT = "catalog"

N, SIZE = 200, 64

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]


@pytest.fixture(scope="module")
def sample(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> SampleCatalog:
    home = tmp_path_factory.mktemp("data")
    test = load_split(resolve_root(data_root, home), "test")
    return write_sample_catalog(test, tmp_path_factory.mktemp("shop"), n=N, size=SIZE)


def _settings(sample: SampleCatalog, home: Path, **extra: object) -> Settings:
    base = {"home": home, "catalog": sample.root, "weights": "none", "image_size": SIZE}
    return Settings(**{**base, "progress": False, "index_shard_size": 64, **extra})


@pytest.fixture(scope="module")
def shelf(
    sample: SampleCatalog, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, RunSummary]:
    settings = _settings(sample, tmp_path_factory.mktemp("home"))
    return settings, pipeline(settings)


def test_everything_good_is_indexed_and_exactly_the_bad_files_reported(
    sample: SampleCatalog, shelf: tuple[Settings, RunSummary]
) -> None:
    settings, summary = shelf
    assert summary.points == N and summary.source.count == N
    assert sorted(Path(p.path).name for p in summary.source.problems) == sorted(sample.bad)
    report = (Path(settings.runs_dir) / settings.dataset).glob("*/report.md")
    text = next(report).read_text()
    for name in sample.bad:
        assert name in text
    store = open_store(settings.store)
    try:
        assert store.resolve(settings.served_alias) == summary.collection
        assert store.count(summary.collection) == N
        assert store.metadata(summary.collection)["kind"] == "files"
    finally:
        store.close()
    assert summary.decision.promoted and "precision_at_1" in summary.metrics


def test_payload_attributes_are_typed_and_filterable(
    shelf: tuple[Settings, RunSummary],
) -> None:
    settings, _ = shelf
    store = open_store(settings.store)
    try:
        winter = [Condition.equals("season", "winter")]
        hits = similar_to_item(
            store, settings.served_alias, "sku-00003", QueryOptions(k=20, where=winter)
        )
        assert hits and {h.payload["season"] for h in hits} == {"winter"}
        cheap = [Condition("price", lte=50.0)]
        hits = similar_to_item(
            store, settings.served_alias, "sku-00003", QueryOptions(k=20, where=cheap)
        )
        assert hits and all(
            isinstance(h.payload["price"], float) and h.payload["price"] <= 50 for h in hits
        )
        assert store.count(settings.served_alias, [Condition.equals("colour", "red")]) > 0
    finally:
        store.close()


def test_collection_recommender_excludes_the_likes_and_caps_each_label(
    shelf: tuple[Settings, RunSummary],
) -> None:
    settings, _ = shelf
    liked = ["sku-00001", "sku-00002", "sku-00006"]
    with QueryService(settings) as service:
        examples = ByExamples(tuple(liked), ("sku-00009",), "centroid")
        hits = service.ask(examples, QueryArgs(k=8, max_per_label=2))
        labels = [h.payload["label"] for h in hits]
        assert len(hits) == 8 and not set(liked) & {h.payload["item_id"] for h in hits}
        assert max(labels.count(x) for x in labels) <= 2


def test_query_by_image_embeds_like_the_index(
    sample: SampleCatalog, shelf: tuple[Settings, RunSummary]
) -> None:
    import torch

    from model.precision import chosen

    settings, _ = shelf
    with QueryService(settings) as service:
        hits = service.ask(next(sample.root.glob("*/sku-00010.png")), QueryArgs(k=3))
        # A ResNet embeds in bf16 where this machine computes it, the photo as the items.
        meta = read_meta(service.store, service.name)
    assert meta.embed_precision == chosen("auto", torch.device("cpu")).name
    # The index flow checked its filters: a catalog this small is scanned, none walks badly.
    assert meta.filter_check_seconds is not None and meta.weak_filters == {}
    assert hits[0].payload["item_id"] == "sku-00010" and hits[0].score == pytest.approx(
        1.0, abs=1e-4
    )


def test_fine_tuned_model_has_a_head_and_is_measured(
    sample: SampleCatalog, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = _settings(
        sample,
        tmp_path_factory.mktemp("home"),
        catalog_mode="fine-tuned",
        finetune_epochs=2,
        head_dim=32,
    )
    summary = pipeline(settings)
    payload = load_checkpoint(Path(summary.model.checkpoint))
    assert payload["kind"] == "catalog" and payload["model_args"]["head_dim"] == 32
    assert len(payload["history"]) == 2 and summary.model.embedding_dim == 32
    assert summary.points == N and 0.0 < summary.metrics["precision_at_1"] <= 1.0
    again = pipeline(settings)  # same backbone, recipe and catalog: the model is reused
    assert again.model.cached and again.model.model_version == summary.model.model_version


def _lists(path: Path) -> list[tuple[str, int, str]]:
    t = pq.read_table(path)
    columns = (t[c].to_pylist() for c in ("item_id", "rank", "neighbour_id"))
    return sorted(zip(*columns, strict=True))


def test_growing_shrinking_and_changing_the_catalog_reindexes_only_what_changed(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("home")
    test = load_split(resolve_root(data_root, home / "data"), "test")
    sample = write_sample_catalog(
        test, tmp_path_factory.mktemp("grow"), n=60, size=32, broken=False
    )
    settings = _settings(sample, home, image_size=32)
    first = pipeline(settings)
    gone = {f"sku-{i:05d}" for i in range(10)}
    new = []
    for i in range(60, 65):
        product_shot(test.images[i].numpy(), (10, 10, 10), 32).save(sample.root / f"new-{i}.png")
        new.append(
            {"path": f"new-{i}.png", "item_id": f"new-{i}", "label": "Bag", "season": "summer"}
        )
    product_shot(test.images[99].numpy(), (200, 0, 0), 32).save(
        next(sample.root.glob("*/sku-00020.png"))
    )
    rewrite_manifest(sample.root, gone, new)
    second = pipeline(settings)
    assert first.embedded == 60
    # Exactly the five new items and the one whose file changed; the ten gone are deleted. The
    # served collection is never written on the embedded store: the change lands in a copy,
    # which is served once it passes the gate.
    assert second.collection == f"{first.collection}-r2" and second.points == 55
    assert second.embedded == 6 and second.decision.promoted
    store = open_store(settings.store)
    try:
        ids = store.find_ids(second.collection, [Condition.equals("split", SPLIT)], limit=1000)
        items = {p["item_id"] for p in store.payloads(second.collection, ids).values()}
        assert len(ids) == 55 and len(items) == 55 and not gone & items
        assert store.count(first.collection) == 60
        assert store.metadata(second.collection)["derived_from"] == first.collection
        assert store.resolve(settings.served_alias) == second.collection
        # Each run that passed the gate left its neighbour export; the second updated the
        # first's, and equals a full recompute.
        assert first.export and first.export["items"] == 60 and not first.export["previous"]
        assert second.export and second.export["previous"] == first.collection
        spec = spec_from(settings.export, read_meta(store, second.collection).labels)
        full = export_neighbours(store, second.collection, spec, home / "full.parquet")
        assert (full.items, full.rows) == (55, 55 * 20)
        updated = pq.read_table(second.export["path"]).sort_by(
            [("item_id", "ascending"), ("rank", "ascending")]
        )
        whole = pq.read_table(full.path).sort_by([("item_id", "ascending"), ("rank", "ascending")])
        assert updated.select(["item_id", "rank", "neighbour_id"]).equals(
            whole.select(["item_id", "rank", "neighbour_id"])
        )
    finally:
        store.close()
    # Unchanged items: nothing is copied, embedded or opened.
    third = pipeline(settings)
    assert (third.collection, third.embedded) == (second.collection, 0)
    # The scheduled re-index embeds new products with the served model, no retraining.
    rewrite_manifest(
        sample.root, set(), [{"path": "new-60.png", "item_id": "late", "label": "Bag"}]
    )
    overrides = {
        "home": str(home),
        "catalog": str(sample.root),
        "weights": "none",
        "image_size": 32,
    }
    assert scheduled_reindex({**overrides, "progress": False}) == 56
    with open_store(settings.store) as store:  # and it is served: evaluated and promoted
        assert store.resolve(settings.served_alias) == f"{first.collection}-r3"
        assert store.count(settings.served_alias) == 56


def test_cli_indexes_a_catalog_folder_and_queries_it(
    sample: SampleCatalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(tmp_path / "home")]
    common = [*home, "--no-progress"]
    args = [
        "run",
        "--catalog",
        str(sample.root),
        "--weights",
        "none",
        "--image-size",
        "32",
        *common,
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"{N} indexed, {len(sample.bad)} left out" in out
    alias = ["--dataset", sample.root.name.lower().replace("_", "-")]
    assert main(["similar", "sku-00004", "--boost-season", "summer", "-k", "3", *alias, *home]) == 0
    assert "items most like sku-00004" in capsys.readouterr().out
    assert main(["run", "--catalog", str(sample.root), "--weights", "imagenet!", *common]) == 1
    assert "no weights file" in capsys.readouterr().err


def test_a_plain_class_tree_without_manifest(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("home")
    test = load_split(resolve_root(data_root, home / "data"), "test")
    tree = write_sample_catalog(
        test, tmp_path_factory.mktemp("tree"), n=40, size=32, manifest=False
    )
    settings = _settings(tree, home, image_size=32)
    summary = pipeline(settings)
    # In a tree the id is the path, so dup/again.png is an item of its own, not a duplicate.
    bad = sorted(n for n in tree.bad if n != "again.png")
    assert sorted(Path(p.path).name for p in summary.source.problems) == bad
    assert summary.points == 41 and "dup" in summary.source.labels
    assert "broken" not in summary.source.labels  # a folder of bad files labels nothing
    store = open_store(settings.store)
    try:
        pid = point_id(settings.dataset, SPLIT, "dup/again")
        assert store.payloads(summary.collection, [pid])[pid]["label_name"] == "dup"
        assert store.count(summary.collection, [Condition.equals("label_name", "trouser")]) > 0
    finally:
        store.close()
