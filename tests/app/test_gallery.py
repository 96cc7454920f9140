"""The gallery in a real browser (headless Chromium from Debian, driven by Selenium) against a
real API on loopback over an index built by Lookalike's index flow: browse, filter, more like
this, search by photo, taste, errors, the keyboard, a phone's width and the key's sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from app.api.main import create_app
from benchmarks.browser import cards, chrome, click, missing, navigates, page_seconds
from catalogs.fashion_mnist import split_of
from infra.settings import Settings
from tests.app.conftest import TEST, TRAIN, build_index, running

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing() is not None, reason=str(missing())),
]
KEY = "gallery-k3y-4f1c"


@pytest.fixture(scope="module")
def site(
    data_root: Path, tmp_path_factory: pytest.TempPathFactory, prefect_api: None
) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("gallery")
    settings = Settings(
        home=home, data_root=data_root, train_limit=TRAIN, test_limit=TEST, progress=False
    )
    build_index(settings)
    with running(create_app(settings)) as url:
        yield url, data_root


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chrome() as driver:
        yield driver


def test_browse_then_more_like_this(site: tuple[str, Path], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    url, _ = site
    browser.get(url + "/")
    shown = cards(browser)
    first_view = page_seconds(browser)
    assert len(shown) == 12 and all(c["loaded"] for c in shown)
    assert all(c["alt"] == f"{c['label']} {c['item']}" for c in shown)  # alt: label and id
    collection = browser.find_element(By.ID, "collection").text
    assert collection.startswith("api-") or collection  # the index at a glance is there

    target = shown[0]["item"]
    click(browser, f".card[data-item='{target}'] a")
    assert browser.find_element(By.ID, "view-title").text == f"More like {target}"
    results = cards(browser)
    clicked = page_seconds(browser)
    assert len(results) == 12 and target not in {c["item"] for c in results}
    scores = [float(c["score"]) for c in results]
    assert scores == sorted(scores, reverse=True) and all(c["label"] for c in results)
    assert collection in browser.find_element(By.CLASS_NAME, "answered").text
    print(f"\ngallery: first view {first_view * 1e3:.0f} ms, more like this {clicked * 1e3:.0f} ms")


def test_filter_by_label(site: tuple[str, Path], browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, _ = site
    browser.get(url + "/")
    Select(browser.find_element(By.ID, "f-label")).select_by_visible_text("Bag")
    click(browser, ".filters button")
    shown = cards(browser)
    assert shown and {c["label"] for c in shown} == {"Bag"}


def test_a_photo_of_an_item_finds_it_first_and_a_bad_upload_reads_well(
    site: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, data_root = site
    photo = tmp_path / "test-5.png"
    Image.fromarray(split_of(str(data_root), "test").images[5].numpy()).save(photo)
    browser.get(url + "/")
    # The page submits the form once a file is chosen.
    navigates(browser, lambda: browser.find_element(By.ID, "photo").send_keys(str(photo)))
    assert browser.find_element(By.ID, "view-title").text.startswith("Like your photo")
    shown = cards(browser)
    assert shown[0]["item"] == "test-5" and float(shown[0]["score"]) > 0.999

    junk = tmp_path / "not-an-image.png"
    junk.write_bytes(b"plain text, not a picture")
    browser.get(url + "/")
    navigates(browser, lambda: browser.find_element(By.ID, "photo").send_keys(str(junk)))
    error = browser.find_element(By.ID, "error").text
    assert "image" in error.lower() and "Traceback" not in browser.page_source
    cut = tmp_path / "cut.png"
    cut.write_bytes(photo.read_bytes()[:60])  # a truncated upload
    navigates(browser, lambda: browser.find_element(By.ID, "photo").send_keys(str(cut)))
    error = browser.find_element(By.ID, "error").text
    assert error and "Traceback" not in browser.page_source
    assert cards(browser) == []


def test_like_two_items_and_get_recommendations_without_them(
    site: tuple[str, Path], browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    url, _ = site
    browser.get(url + "/")
    liked = []
    for _ in range(2):  # one from the grid, then one of the recommendations it brings
        item = cards(browser)[0]["item"]
        click(browser, f".card[data-item='{item}'] a.like")
        liked.append(item)
        assert (
            browser.find_element(By.ID, "view-title").text == f"Recommended for {len(liked)} liked"
        )
        assert item not in {c["item"] for c in cards(browser)}
    for strategy in ("average_vector", "best_score", "centroid"):
        from selenium.webdriver.support.ui import Select

        Select(browser.find_element(By.ID, "t-strategy")).select_by_visible_text(strategy)
        click(browser, ".taste-form button")
        assert browser.find_element(By.ID, "view-title").text == "Recommended for 2 liked"
        shown = cards(browser)
        assert len(shown) == 12 and not set(liked) & {c["item"] for c in shown}, strategy
    cap = browser.find_element(By.ID, "t-cap")
    cap.clear()
    cap.send_keys("2")
    click(browser, ".taste-form button")
    labels = [c["label"] for c in cards(browser)]
    assert labels and max(labels.count(x) for x in labels) <= 2


def test_keyboard_and_a_phone_screen(site: tuple[str, Path], browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = site
    browser.set_window_size(390, 844)
    try:
        browser.get(url + "/")
        wide = browser.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => "
            "e.getBoundingClientRect().right > document.documentElement.clientWidth)"
            ".map(e => e.tagName + '.' + e.className + '#' + e.id)"
        )
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, wide  # nothing wider than a phone's screen
        first = cards(browser)[0]["item"]
        link = browser.find_element(By.CSS_SELECTOR, "#results .card a")
        for _ in range(60):  # tab until the first result's link has the focus
            if browser.switch_to.active_element == link:
                break
            ActionChains(browser).send_keys(Keys.TAB).perform()
        assert browser.switch_to.active_element == link
        navigates(browser, lambda: ActionChains(browser).send_keys(Keys.ENTER).perform())
        assert browser.find_element(By.ID, "view-title").text == f"More like {first}"
    finally:
        browser.set_window_size(1280, 900)


def test_with_a_key_the_page_asks_for_it(
    data_root: Path, tmp_path: Path, prefect_api: None
) -> None:
    from selenium.webdriver.common.by import By

    settings = Settings(
        home=tmp_path,
        data_root=data_root,
        train_limit=TRAIN,
        test_limit=TEST,
        progress=False,
        api_key=KEY,
        prefect_ui_url="http://127.0.0.1:4200",
        tensorboard_url="http://127.0.0.1:6006",
    )
    build_index(settings)
    with running(create_app(settings)) as url, chrome() as driver:
        driver.get(url + "/")
        assert driver.find_elements(By.ID, "key") and not cards(driver)
        from benchmarks.browser import axe_violations

        assert axe_violations(driver) == []  # the sign-in page too
        driver.find_element(By.ID, "key").send_keys("wrong")
        click(driver, ".login button")
        assert "not the key" in driver.find_element(By.CLASS_NAME, "error").text
        driver.find_element(By.ID, "key").send_keys(KEY)
        click(driver, ".login button")
        shown = cards(driver)
        assert len(shown) == 12 and all(c["loaded"] for c in shown)  # images carry the key
        assert KEY not in driver.page_source
        links = {
            a.text: a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a.ext")
        }
        assert links == {
            "Prefect UI": "http://127.0.0.1:4200/",
            "TensorBoard": "http://127.0.0.1:6006/",
        }


def _open_why(browser: Any, trigger_css: str) -> dict[str, Any]:
    """Open a result's "why?" and wait for its overlay; what the dialog then shows."""
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, trigger_css).click()
    return _shown_why(browser)


def _shown_why(browser: Any) -> dict[str, Any]:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script(
            "const i = document.getElementById('why-img');"
            "return i.complete && i.naturalWidth > 0 || "
            "/could not/.test(document.getElementById('why-text').textContent)"
        )
    )
    shown: dict[str, Any] = browser.execute_script(
        "const d = document.getElementById('why'), i = document.getElementById('why-img');"
        "const r = d.getBoundingClientRect();"
        "return {open: d.open, alt: i.alt, text: document.getElementById('why-text').textContent,"
        "width: i.naturalWidth, right: r.right, left: r.left,"
        "viewport: document.documentElement.clientWidth}"
    )
    return shown


def test_why_opens_the_overlay_also_on_a_phone_and_from_the_keyboard(
    site: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, data_root = site
    browser.get(url + "/?item=test-3")
    first = cards(browser)[0]["item"]
    shown = _open_why(browser, f"#results .card[data-item='{first}'] a.why")
    assert shown["open"] and shown["width"] == 456, shown
    assert shown["alt"].startswith(f"Similarity map of test-3 (left) and {first} (right)")
    assert shown["text"].startswith("Score ") and "exact map, 7 \u00d7 7 regions" in shown["text"]
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    assert not browser.execute_script("return document.getElementById('why').open")
    trigger = browser.find_element(By.CSS_SELECTOR, f"#results .card[data-item='{first}'] a.why")
    assert browser.switch_to.active_element == trigger  # the focus is back where it was

    browser.set_window_size(390, 844)
    try:
        browser.get(url + "/?item=test-3")
        second = cards(browser)[1]["item"]
        link = browser.find_element(By.CSS_SELECTOR, f"#results .card[data-item='{second}'] a.why")
        browser.execute_script("arguments[0].focus()", link)
        ActionChains(browser).send_keys(Keys.ENTER).perform()
        shown = _shown_why(browser)
        assert shown["open"] and shown["width"] == 456, shown
        assert shown["left"] >= 0 and shown["right"] <= shown["viewport"]  # inside the screen
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        browser.find_element(By.ID, "why-close").click()
        assert not browser.execute_script("return document.getElementById('why').open")
        assert browser.switch_to.active_element == link
        click(browser, f"#results .card[data-item='{second}'] a")  # still usable on a phone
        assert browser.find_element(By.ID, "view-title").text == f"More like {second}"
    finally:
        browser.set_window_size(1280, 900)

    # A recommendation is explained against the liked item it is most like.
    browser.get(url + "/?like=test-3&like=test-4")
    links = browser.execute_script(
        "return [...document.querySelectorAll('#results .card')].map(c => "
        "[c.dataset.item, c.querySelector('a.why').dataset.explain])"
    )
    assert len(links) == 12
    for hit, link in links[:3]:
        liked = link.split("/")[3]
        other = "test-4" if liked == "test-3" else "test-3"
        assert link == f"/v1/explain/{liked}/{hit}"
        mine = httpx.get(url + link).json()["score"]
        assert mine >= httpx.get(f"{url}/v1/explain/{other}/{hit}").json()["score"] - 1e-6
    first, link = links[0]
    shown = _open_why(browser, f"#results .card[data-item='{first}'] a.why")
    assert shown["alt"].startswith(f"Similarity map of {link.split('/')[3]} (left)")
    browser.get(url + "/?item=test-3&box=0,0,0.5,1")  # a region's hits: no whole-item "why?"
    assert not browser.find_elements(By.CSS_SELECTOR, "#results .card .why")

    photo = tmp_path / "test-5.png"
    Image.fromarray(split_of(str(data_root), "test").images[5].numpy()).save(photo)
    browser.get(url + "/")
    navigates(browser, lambda: browser.find_element(By.ID, "photo").send_keys(str(photo)))
    top = cards(browser)[0]["item"]
    shown = _open_why(browser, f"#results .card[data-item='{top}'] button.why")
    assert shown["alt"].startswith(f"Similarity map of your photo (left) and {top} (right)")
    assert shown["text"].startswith("Score 1.0000") or shown["text"].startswith("Score 0.999")


def test_every_page_passes_axe_core(site: tuple[str, Path], browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from benchmarks.browser import axe_violations

    url, data_root = site
    pages = {
        "browse": "/",
        "more like this": "/?item=test-3",
        "a region": "/?item=test-3&box=0,0,0.5,1",
        "recommend": "/?like=test-3&like=test-4&dislike=test-5",
        "filtered": "/?label=Bag&split=test",
        "an error": "/?item=test-999999",
        "a bad option": "/?k=0",
    }
    found = {}
    for name, path in pages.items():
        browser.get(url + path)
        found[name] = axe_violations(browser)
    browser.get(url + "/?item=test-3")
    _open_why(browser, "#results .card a.why")
    found["why? open"] = axe_violations(browser)
    photo = tmp_path / "p.png"
    Image.fromarray(split_of(str(data_root), "test").images[5].numpy()).save(photo)
    browser.get(url + "/")
    navigates(browser, lambda: browser.find_element(By.ID, "photo").send_keys(str(photo)))
    found["like your photo"] = axe_violations(browser)
    assert found == {name: [] for name in found}


def _drag(browser: Any, css: str, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag the mouse over the element from ``start`` to ``end`` (fractions of its size)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    element = browser.find_element(By.CSS_SELECTOR, css)
    w, h = element.size["width"], element.size["height"]

    def offset(at: tuple[float, float]) -> tuple[int, int]:  # from the element's centre
        return round((at[0] - 0.5) * w), round((at[1] - 0.5) * h)

    x0, y0 = offset(start)
    x1, y1 = offset(end)
    chain = ActionChains(browser).move_to_element_with_offset(element, x0, y0).click_and_hold()
    chain.move_by_offset((x1 - x0) // 2, (y1 - y0) // 2).move_by_offset(
        x1 - x0 - (x1 - x0) // 2, y1 - y0 - (y1 - y0) // 2
    )
    chain.release().perform()


def test_draw_a_region_over_an_item_or_a_photo_or_type_it(
    site: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, data_root = site
    browser.get(url + "/?item=test-3")
    _drag(browser, ".query .card img", (0.05, 0.5), (0.95, 0.95))
    assert browser.current_url.endswith("/?item=test-3")  # a drag is not a click on the link
    box = browser.find_element(By.ID, "region-box").get_attribute("value")
    x0, y0, x1, y1 = (float(v) for v in box.split(","))
    assert x0 < 0.1 and 0.45 < y0 < 0.55 and x1 > 0.9 and y1 > 0.9, box
    click(browser, "#region-form button")
    assert browser.find_element(By.ID, "view-title").text == "More like a region of test-3"
    shown = cards(browser)
    assert len(shown) == 12 and "test-3" not in {c["item"] for c in shown}

    browser.get(url + "/?item=test-3")  # the keyboard: type the region, press Enter
    field = browser.find_element(By.ID, "region-box")
    field.send_keys("0,0,1,0.5")
    navigates(browser, lambda: field.send_keys(Keys.ENTER))
    assert "box=0%2C0%2C1%2C0.5" in browser.current_url
    assert browser.find_element(By.ID, "view-title").text == "More like a region of test-3"

    images = split_of(str(data_root), "test").images
    canvas = tmp_path / "two.png"
    Image.fromarray(np.concatenate([images[5].numpy(), images[7].numpy()], axis=1)).save(canvas)
    browser.get(url + "/")
    navigates(browser, lambda: browser.find_element(By.ID, "photo").send_keys(str(canvas)))
    assert browser.find_element(By.ID, "photo-preview").is_displayed()
    _drag(browser, "#photo-preview", (0.52, 0.02), (0.98, 0.98))
    field = browser.find_element(By.ID, "photo-region-box")
    drawn = [float(v) for v in field.get_attribute("value").split(",")]
    assert 0.45 < drawn[0] < 0.6 and drawn[2] > 0.9, drawn
    # A drawn edge is a pixel or two off; the model is random, so exactly the right half:
    field.clear()
    field.send_keys("0.5,0,1,1")
    click(browser, "#photo-region-form button")
    assert "region 0.5,0,1,1" in browser.find_element(By.ID, "view-title").text
    first = cards(browser)[0]
    assert first["item"] == "test-7" and float(first["score"]) > 0.999
