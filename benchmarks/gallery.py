"""The gallery in headless Chromium against `lookalike api` over the index `lookalike run` built:
time to the first useful view (the grid, from the page's request to its load event, images
included) and from a "more like this" click to its rendered results, on loopback; and a
screenshot of each view into docs/.

`python -m benchmarks.gallery [--runs 7]` (needs Debian's chromium and chromium-driver). It
times the page in the browser and nothing with numpy, so OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
play no part (there is no numpy baseline to slow).
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

from benchmarks.api import api_running, item_png
from benchmarks.browser import cards, chrome, click, missing, navigates, page_seconds
from benchmarks.common import write

DOCS = Path(__file__).resolve().parent.parent / "docs"


def timings(driver: Any, url: str, runs: int) -> dict[str, float]:
    first, clicks = [], []
    for i in range(runs):
        driver.get(f"{url}/?shuffle={i}")
        first.append(page_seconds(driver))
        item = cards(driver)[i % 12]["item"]
        click(driver, f".card[data-item='{item}'] a")
        assert len(cards(driver)) == 12
        clicks.append(page_seconds(driver))
    return {
        "first_view_p50_ms": statistics.median(first) * 1e3,
        "first_view_max_ms": max(first) * 1e3,
        "more_like_this_p50_ms": statistics.median(clicks) * 1e3,
        "more_like_this_max_ms": max(clicks) * 1e3,
    }


def screenshots(driver: Any, url: str, photo: Path) -> list[str]:
    """One PNG per view, into docs/."""
    from selenium.webdriver.common.by import By

    DOCS.mkdir(exist_ok=True)
    shots = []

    def shot(name: str) -> None:
        driver.save_screenshot(str(DOCS / f"gallery-{name}.png"))
        shots.append(f"docs/gallery-{name}.png")

    driver.get(f"{url}/?shuffle=3")
    shot("browse")
    driver.get(f"{url}/?item=test-42")
    shot("more-like-this")
    driver.get(f"{url}/?label=Sandal&split=test")
    shot("filtered")
    driver.get(f"{url}/")
    navigates(driver, lambda: driver.find_element(By.ID, "photo").send_keys(str(photo)))
    shot("photo")
    driver.get(f"{url}/?like=test-1&like=test-16&dislike=test-3&strategy=best_score")
    shot("taste")
    driver.get(f"{url}/?item=test-42")
    why(driver)
    shot("why")
    driver.set_window_size(390, 844)
    driver.get(f"{url}/?item=test-42")
    shot("phone")
    why(driver)
    shot("why-phone")
    return shots


def why(driver: Any) -> None:
    """Open the first result's "why?" and wait for its overlay."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.CSS_SELECTOR, "#results .card a.why").click()
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "const i = document.getElementById('why-img'); return i.complete && i.naturalWidth > 0"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()
    if missing():
        raise SystemExit(str(missing()))
    from infra.settings import Settings

    photo = Settings().home / "runs" / "gallery-test-42.png"
    photo.write_bytes(item_png())
    with api_running(args.port) as url, chrome() as driver:
        driver.get(f"{url}/")  # the first request loads the engine; the rest are timed
        got = timings(driver, url, args.runs)
        shots = screenshots(driver, url, photo)
    rows = [{"view": k, "ms": v} for k, v in got.items()]
    print(write("gallery", rows, {"runs": args.runs, "screenshots": shots}).read_text())


if __name__ == "__main__":
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
