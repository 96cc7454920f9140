"""The API over a product catalog's index (ResNet-18 at random init, 32 px): photos come from
the catalog's folder, attributes filter, and an image of an unsupported mode is refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.api.main import create_app
from catalogs.fashion_mnist import split_of
from catalogs.sample import write_sample_catalog
from flows.pipeline import pipeline
from infra.settings import Settings
from tests.app.conftest import running

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory, prefect_api: None
) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("shop")
    write_sample_catalog(split_of(str(data_root), "test"), root, n=40, size=32, broken=False)
    home = tmp_path_factory.mktemp("shop-home")
    settings = Settings(home=home, catalog=root, weights="none", image_size=32, progress=False)
    assert pipeline(settings).decision.promoted
    with running(create_app(settings)) as url:
        yield url, root


def test_photos_attributes_and_modes(shop: tuple[str, Path]) -> None:
    url, root = shop
    photo = next(root.glob("*/sku-00007.png"))
    files = {"file": ("p.png", photo.read_bytes(), "image/png")}
    r = httpx.post(f"{url}/v1/similar/image", params={"k": 2}, files=files, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["hits"][0]["item_id"] == "sku-00007"
    image = httpx.get(f"{url}/v1/images/sku-00007")
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).size == (112, 112)
    with (root / "manifest.csv").open(newline="") as f:
        reds = {row["item_id"] for row in csv.DictReader(f) if row["colour"] == "red"}
    reds.discard("sku-00001")  # the item asked about is never among its own hits
    assert len(reds) >= 2, "the sample catalog should hold red items besides sku-00001"
    params = {"where": "colour=red", "k": 2}
    red = httpx.get(f"{url}/v1/similar/items/sku-00001", params=params)
    assert red.status_code == 200, red.text
    hits = red.json()["hits"]
    assert len(hits) == 2 and {h["item_id"] for h in hits} <= reds, hits
    assert all(h["payload"]["colour"] == "red" for h in hits)
    cheap = httpx.get(f"{url}/v1/similar/items/sku-00001", params={"where": "price=cheap"})
    assert cheap.status_code == 400 and "holds float values" in cheap.json()["error"]
    cmyk = io.BytesIO()
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(cmyk, "JPEG")
    files = {"file": ("c.jpg", cmyk.getvalue(), "image/jpeg")}
    r = httpx.post(f"{url}/v1/similar/image", files=files, timeout=60)
    assert r.status_code == 415 and "unsupported mode CMYK" in r.json()["error"]
    assert httpx.get(f"{url}/v1/similar/items/sku-00002").status_code == 200


def test_a_catalog_match_is_explained_from_the_catalogs_own_photos(
    shop: tuple[str, Path],
) -> None:
    url, _ = shop
    hit = httpx.get(f"{url}/v1/similar/items/sku-00003", params={"k": 1}).json()["hits"][0]
    r = httpx.get(f"{url}/v1/explain/sku-00003/{hit['item_id']}", timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    # ResNet-18 at 32 px pools a 1 x 1 map: one region carries the whole score.
    assert body["grid"] == [1, 1] and body["score"] == pytest.approx(hit["score"], abs=1e-4)
    assert body["query"]["map"][0][0] == pytest.approx(body["score"], abs=1e-5)


def test_the_gallery_shows_a_catalogs_own_photos_and_filters_its_attributes(
    shop: tuple[str, Path],
) -> None:
    from benchmarks.browser import cards, chrome, click, missing, navigates

    if missing():
        pytest.skip(str(missing()))
    from selenium.webdriver.common.by import By

    url, root = shop
    with chrome() as driver:
        driver.get(url + "/")
        shown = cards(driver)
        assert shown and all(c["loaded"] and c["item"].startswith("sku-") for c in shown)
        where = driver.find_element(By.ID, "f-where")
        where.send_keys("colour=red")
        click(driver, ".filters button")
        red = cards(driver)
        assert red and all("colour red" in c["details"] for c in red)
        photo = next(root.glob("*/sku-00007.png"))
        navigates(driver, lambda: driver.find_element(By.ID, "photo").send_keys(str(photo)))
        assert cards(driver)[0]["item"] == "sku-00007"
