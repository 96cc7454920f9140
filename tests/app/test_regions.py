"""Search by a region (``box``) on every surface: two garments on one canvas, a box around each
finds that garment first; a region of a stored item leaves the item out; a box outside the
image, inverted or empty is a 400 naming it."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from app.cli import main
from catalogs.fashion_mnist import split_of
from model.images import Box, BoxError
from tests.app.conftest import Api

BAD = {
    "1.2,0,1,1": "lies outside the image",
    "0.6,0,0.2,1": "is inverted",
    "0.5,0,0.5,1": "is empty",
    "0,0,1": "box wants x0,y0,x1,y1",
}


def _canvas(api: Api, left: int, right: int) -> bytes:
    """Two test garments side by side on one black canvas, 56 x 28."""
    images = split_of(str(api.data_root), "test").images
    canvas = np.concatenate([images[left].numpy(), images[right].numpy()], axis=1)
    out = io.BytesIO()
    Image.fromarray(canvas).save(out, "PNG")
    return out.getvalue()


def _photo(api: Api, png: bytes, **params: str) -> httpx.Response:
    files = {"file": ("canvas.png", png, "image/png")}
    return httpx.post(api.url + "/v1/similar/image", params=params, files=files, timeout=60)


def test_a_box_around_each_garment_finds_it_first(api: Api) -> None:
    png = _canvas(api, 5, 7)
    answers = []
    for box, item in (("0,0,0.5,1", "test-5"), ("0.5,0,1,1", "test-7")):
        r = _photo(api, png, box=box, k="3")
        assert r.status_code == 200, r.text
        hits = r.json()["hits"]
        assert hits[0]["item_id"] == item and hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
        answers.append([h["item_id"] for h in hits])
    whole = [h["item_id"] for h in _photo(api, png, k="3").json()["hits"]]
    assert whole not in answers  # the whole canvas is neither garment


def test_a_region_of_a_stored_item_leaves_the_item_out(api: Api) -> None:
    plain = httpx.get(api.url + "/v1/similar/items/test-5", params={"k": 5}).json()["hits"]
    whole = httpx.get(
        api.url + "/v1/similar/items/test-5", params={"k": 5, "box": "0,0,1,1"}, timeout=60
    )
    assert whole.status_code == 200, whole.text
    hits = whole.json()["hits"]
    assert "test-5" not in {h["item_id"] for h in hits}
    # The whole picture is the item's own vector: the same answer as a query by the item.
    assert [h["item_id"] for h in hits] == [h["item_id"] for h in plain]
    part = httpx.get(
        api.url + "/v1/similar/items/test-5", params={"k": 5, "box": "0,0.5,1,1"}, timeout=60
    ).json()["hits"]
    assert [h["score"] for h in part] != [h["score"] for h in hits]
    filtered = httpx.get(
        api.url + "/v1/similar/items/test-5",
        params={"k": 3, "box": "0,0.5,1,1", "split": "train"},
        timeout=60,
    ).json()["hits"]
    assert filtered and all(h["payload"]["split"] == "train" for h in filtered)


def test_a_bad_box_is_named_on_every_surface(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = _canvas(api, 5, 7)
    for box, says in BAD.items():
        r = httpx.get(api.url + "/v1/similar/items/test-5", params={"box": box})
        assert r.status_code == 400 and says in r.json()["error"], (box, r.text)
        r = _photo(api, png, box=box)
        assert r.status_code == 400 and says in r.json()["error"], (box, r.text)
        page = httpx.get(api.url + "/", params={"item": "test-5", "box": box})
        assert page.status_code == 400 and says in page.text and "Traceback" not in page.text
        files = {"file": ("c.png", png, "image/png")}
        page = httpx.post(api.url + "/search", data={"box": box}, files=files)
        assert page.status_code == 400 and says in page.text
    shown = httpx.post(
        api.url + "/search", data={"box": "0.5,0,1,1"}, files={"file": ("c.png", png, "image/png")}
    )
    assert shown.status_code == 200 and "region 0.5,0,1,1" in shown.text
    assert 'data-item="test-7"' in shown.text.split('id="results"')[1][:400]
    if api.settings.store.qdrant_url is None:  # the command line opens the embedded store
        home = ["--home", str(api.settings.home), "--dataset", api.settings.dataset]
        photo = tmp_path / "canvas.png"
        photo.write_bytes(png)
        assert main(["similar", "--image", str(photo), "--box", "0,0,0.5,1", "-k", "1", *home]) == 0
        assert "test-5" in capsys.readouterr().out
        assert main(["similar", "test-5", "--box", "0.6,0,0.2,1", *home]) == 1
        assert "is inverted" in capsys.readouterr().err


def test_box_parsing() -> None:
    box = Box.parse(" 0.1, 0.2,0.6,0.9")
    assert (box.x0, box.y0, box.x1, box.y1) == (0.1, 0.2, 0.6, 0.9) and str(
        box
    ) == "0.1,0.2,0.6,0.9"
    img = Image.new("L", (100, 50))
    assert box.crop(img).size == (50, 35)
    assert Box.parse("0.999,0,1,0.001").crop(img).size == (1, 1)  # at least a pixel
    for text, says in BAD.items():
        with pytest.raises(BoxError, match=says):
            Box.parse(text)
    with pytest.raises(BoxError, match="outside"):
        Box.parse("nan,0,1,1")
