"""The gallery's overlays in a real browser (headless Chromium from Debian, driven by Selenium)
against a real API on loopback: the "why?" similarity map, a region drawn or typed, and every
page checked by axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from benchmarks.browser import cards, click, missing, navigates
from catalogs.fashion_mnist import split_of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing() is not None, reason=str(missing())),
]


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
