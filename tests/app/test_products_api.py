"""A catalog of products with several photos, served: the API, the gallery and the command
line answer one hit per product, leave the asking product out, and a product id asks with all
its photos (ResNet-18 at random init, 32 px)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.api.main import create_app
from app.cli import main
from catalogs.fashion_mnist import split_of
from catalogs.sample import SampleCatalog, write_sample_catalog
from flows.pipeline import pipeline
from infra.settings import Settings
from tests.app.conftest import running

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory, prefect_api: None
) -> Iterator[tuple[str, SampleCatalog, Settings]]:
    root = tmp_path_factory.mktemp("shop")
    split = split_of(str(data_root), "test")
    sample = write_sample_catalog(split, root, n=30, size=32, broken=False, photos=4)
    home = tmp_path_factory.mktemp("shop-home")
    settings = Settings(home=home, catalog=root, weights="none", image_size=32, progress=False)
    assert pipeline(settings).decision.promoted
    with running(create_app(settings)) as url:
        yield url, sample, settings


def _products(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [h["payload"]["product_id"] for h in r.json()["hits"]]


def test_answers_hold_each_product_once(shop: tuple[str, SampleCatalog, Settings]) -> None:
    url, sample, _ = shop
    for asked in ("sku-00002", "sku-00002/front"):  # the product, and one of its photos
        found = _products(httpx.get(f"{url}/v1/similar/items/{asked}", params={"k": 12}))
        assert len(found) == 12 == len(set(found)) and "sku-00002" not in found
    photo = sample.root / "shirt" / "sku-00003" / "front.png"
    if not photo.exists():
        photo = next(sample.root.glob("*/sku-00003/front.png"))
    files = {"file": ("p.png", photo.read_bytes(), "image/png")}
    r = httpx.post(f"{url}/v1/similar/image", params={"k": 5}, files=files, timeout=60)
    found = _products(r)
    assert found[0] == "sku-00003" and len(set(found)) == 5
    hit = r.json()["hits"][0]
    assert hit["item_id"] == "sku-00003/front"  # the photo that matched best comes with it
    box = {"k": 5, "box": "0,0,0.5,1"}  # a region of a photo leaves its product out
    assert "sku-00003" not in _products(
        httpx.get(f"{url}/v1/similar/items/sku-00003/front", params=box, timeout=60)
    )


def test_recommend_and_the_gallery_work_by_product(
    shop: tuple[str, SampleCatalog, Settings],
) -> None:
    url, _, _ = shop
    body = {"like": ["sku-00004"], "dislike": ["sku-00005/front"]}
    r = httpx.post(f"{url}/v1/recommend", json=body, params={"k": 8})
    found = _products(r)
    assert len(set(found)) == 8 and not {"sku-00004", "sku-00005"} & set(found)
    page = httpx.get(f"{url}/", params={"item": "sku-00004"})
    assert page.status_code == 200 and "More like sku-00004" in page.text
    shown = re.findall(r"<span class=\"details\">product ([^<]+)</span>", page.text)
    query, shown = shown[0], shown[1:]  # the card asked about, then the answer's
    assert query == "sku-00004" and len(shown) == len(set(shown)) == 12 and query not in shown
    assert re.search(f'[?&;]item={shown[0]}[&"]', page.text)  # a card asks by its product
    browse = httpx.get(f"{url}/")
    listed = re.findall(r"<span class=\"details\">product ([^<]+)</span>", browse.text)
    assert len(listed) == len(set(listed)) > 0


def test_the_command_line_answers_by_product(
    shop: tuple[str, SampleCatalog, Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, settings = shop
    where = ["--alias", settings.served_alias, "--home", str(settings.home)]
    assert main(["similar", "sku-00006", "-k", "4", *where]) == 0
    out = capsys.readouterr().out
    assert "sku-00006/" not in out and out.count("sku-") >= 4
