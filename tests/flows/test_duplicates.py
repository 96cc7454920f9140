"""Near-duplicates through the index: planted copies in a product catalog (exact copies,
re-encoded JPEGs, resized copies) are found exactly, as groups, by `lookalike duplicates`'s
flow."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from catalogs.fashion_mnist import split_of
from catalogs.sample import write_sample_catalog
from flows.duplicates import duplicates_flow
from flows.pipeline import pipeline
from infra.settings import Settings
from infra.store import StoreError

pytestmark = pytest.mark.slow
# Random-init ResNet-18 features of distinct products reach 0.998 here (ImageNet weights cannot
# be downloaded): the planted copies score above 0.9998.
THRESHOLD = 0.999


def _plant(root: Path) -> list[set[str]]:
    """Copies of three products, each a different way; returns the groups they must form."""
    manifest = root / "manifest.csv"
    rows = list(csv.DictReader(manifest.open()))
    by_id = {r["item_id"]: r for r in rows}
    planted: list[dict[str, str]] = []

    def add(source: str, new_id: str, image: Image.Image, suffix: str, **save: object) -> None:
        path = f"planted/{new_id}{suffix}"
        (root / "planted").mkdir(exist_ok=True)
        image.save(root / path, **save)
        planted.append({**by_id[source], "item_id": new_id, "path": path})

    photo = {i: Image.open(root / by_id[i]["path"]).convert("RGB") for i in by_id}
    add("sku-00003", "copy-a", photo["sku-00003"], ".png")
    add("sku-00003", "copy-b", photo["sku-00003"], ".png")
    buf = io.BytesIO()
    photo["sku-00005"].save(buf, "JPEG", quality=90)
    add("sku-00005", "jpeg", Image.open(buf).convert("RGB"), ".jpg", quality=85)
    add("sku-00009", "bigger", photo["sku-00009"].resize((96, 96), Image.BICUBIC), ".png")
    with manifest.open("w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows + planted)
    return [{"sku-00003", "copy-a", "copy-b"}, {"sku-00005", "jpeg"}, {"sku-00009", "bigger"}]


def test_planted_copies_are_found_exactly(
    data_root: Path, tmp_path: Path, prefect_api: None
) -> None:
    sample = write_sample_catalog(
        split_of(str(data_root), "test"), tmp_path / "shop", n=40, size=64, broken=False
    )
    expected = _plant(sample.root)
    settings = Settings(
        home=tmp_path / "home",
        catalog=sample.root,
        weights="none",
        image_size=64,
        catalog_min_precision_at_1=0.0,
        progress=False,
    )
    assert pipeline(settings).points == 44
    found, groups_file, sheet = duplicates_flow(settings, THRESHOLD, out=tmp_path / "d.jsonl")
    assert [set(g.item_ids) for g in found.groups] == sorted(expected, key=len, reverse=True)
    lines = [json.loads(line) for line in groups_file.read_text().splitlines()]
    assert [len(r["items"]) for r in lines] == [3, 2, 2]
    assert all(THRESHOLD <= i["score"] <= 1.0001 for r in lines for i in r["items"])
    assert Image.open(sheet).size[1] == 3 * 84  # a row of thumbnails per group
    with pytest.raises(StoreError, match=r"threshold is a cosine similarity in \(0, 1\]"):
        duplicates_flow(settings, 1.5)
    with pytest.raises(StoreError, match="no collection or alias"):
        duplicates_flow(settings.with_(alias="nothing-here"), THRESHOLD)
