"""Headless Chromium for the gallery's tests and its benchmark: Debian's `chromium` and
`chromium-driver` packages, driven by Selenium (Playwright's own browser download cannot work
offline)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = ("chromium", "chromium-browser")
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    # No network here: without these Chromium keeps calling home and filling the log.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
)


def missing() -> str | None:
    """Why no browser can run here, or None."""
    if not any(shutil.which(c) for c in CHROMIUM) or not shutil.which("chromedriver"):
        return (
            "Debian's chromium and chromium-driver are not installed "
            "(apt-get install chromium chromium-driver; .ci/run installs them)"
        )
    try:
        import axe_selenium_python  # noqa: F401
        import selenium  # noqa: F401
    except ImportError:
        return "selenium or axe-selenium-python is not installed: pip install -e '.[dev]'"
    return None


@contextmanager
def chrome(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, closed on the way out."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = next(str(p) for c in CHROMIUM if (p := shutil.which(c)))
    with tempfile.TemporaryDirectory() as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        try:
            yield driver
        finally:
            driver.quit()


def page_seconds(driver: Any) -> float:
    """From the request of the page shown now to its load event (its images loaded)."""
    timing = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return [n.startTime, n.loadEventEnd];"
    )
    return float(timing[1] - timing[0]) / 1000


def navigates(driver: Any, action: Any) -> None:
    """Do ``action`` and wait for the next page (a script's submit is not waited for)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    # The old page is marked rather than watched through an element of it: asked about an
    # element of a page that is gone, chromedriver 156.0.8078.108 answers a generic "unknown
    # error" (a node not in the document) where 156.0.8078.73 answered "stale element", and
    # Selenium's staleness_of only takes the latter for a yes.
    driver.execute_script("window.__lookalikeLeft = true")
    action()
    WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return window.__lookalikeLeft !== true && document.readyState === 'complete'"
        )
    )


def click(driver: Any, css: str) -> None:
    from selenium.webdriver.common.by import By

    navigates(driver, lambda: driver.find_element(By.CSS_SELECTOR, css).click())


def cards(driver: Any) -> list[dict[str, str]]:
    """Each result card's item, label and score as the page shows them."""
    found: list[dict[str, str]] = driver.execute_script(
        "return [...document.querySelectorAll('#results .card')].map(c => ({"
        "item: c.dataset.item, label: c.dataset.label,"
        "score: (c.querySelector('.score b') || {}).textContent || '',"
        "alt: c.querySelector('img').alt,"
        "details: (c.querySelector('.details') || {}).textContent || '',"
        "loaded: c.querySelector('img').complete && c.querySelector('img').naturalWidth > 0}))"
    )
    return found


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page shown now (the engine axe-selenium-python ships), each
    as ``{"id", "impact", "nodes": [the first elements' HTML]}``."""
    from axe_selenium_python import Axe

    axe = Axe(driver)
    axe.inject()
    found = axe.run()["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"][:3]]}
        for v in found
    ]
