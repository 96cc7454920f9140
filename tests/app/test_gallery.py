"""The gallery in a real browser (headless Chromium from Debian, driven by Selenium) against a
real API on loopback over an index built by Lookalike's index flow: browse, filter, more like
this, search by photo, taste, errors, the keyboard, a phone's width and the key's sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
