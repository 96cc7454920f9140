"""The HTTP API against the bare engine on the same index, in one run, on loopback only.

The engine is timed in-process (the same query code, no HTTP) before and after the API runs;
the load comes from wrk (Debian's `wrk`), bounded in time. Every request asks for the 10 items
most like a test item, rotating over the test items so no answer repeats.

Run after `lookalike run`: `python -m benchmarks.api [--seconds 10]`. No numpy scan is timed
here (the baseline is the engine itself), so OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE play no part.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import write

ITEMS = 10_000  # Fashion-MNIST's test items
ROTATE = """
counter = 0
request = function()
  counter = counter + 1
  local item = string.format("{fmt}", counter % {items})
  return wrk.format("GET", "/v1/similar/items/" .. item .. "?k=10")
end
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def engine(runs: int) -> dict[str, float]:
    """p50/p99 ms of the same query in-process, on the embedded store."""
    from infra.settings import Settings
    from infra.store import open_store
    from search.options import QueryOptions
    from search.query import similar_to_item

    settings = Settings()
    with open_store(settings.store) as store:
        name = store.resolve(settings.served_alias)
        similar_to_item(store, name, "test-0", QueryOptions(k=10))  # load the shard first
        times = []
        for i in range(runs):
            start = time.perf_counter()
            similar_to_item(store, name, f"test-{i % ITEMS}", QueryOptions(k=10))
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(0.99 * len(times))]}


def wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    return parse_wrk(run_wrk(url, script, connections, seconds))


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> str:
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    return subprocess.run([*cmd, "-s", str(script), url], capture_output=True, text=True).stdout


def parse_wrk(out: str) -> dict[str, float]:
    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "requests_per_s": float(rps.group(1)) if rps else float("nan"),
        "requests": int(total.group(1)) if total else 0,
        "failed": (int(bad.group(1)) if bad else 0)
        + (sum(int(x) for x in sock.groups()) if sock else 0),
    }


def item_png() -> bytes:
    """Fashion-MNIST's test item 42 as a PNG."""
    from PIL import Image

    from catalogs.fashion_mnist import split_of
    from infra.settings import Settings
    from model.data import resolve_root

    s = Settings()
    root = resolve_root(s.data.data_root, s.data_dir, s.data.debian_data_dir, download=False)
    png = io.BytesIO()
    Image.fromarray(split_of(str(root), "test").images[42].numpy()).save(png, "PNG")
    return png.getvalue()


def image_script(folder: Path, png: bytes) -> Path:
    """A wrk script that uploads ``png``, multipart."""
    boundary = "lookalikebench"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png
        + f"\r\n--{boundary}--\r\n".encode()
    )
    escaped = "".join(f"\\{b}" for b in body)
    script = folder / "image.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.headers["Content-Type"] = "multipart/form-data; boundary={boundary}"\n'
        f'wrk.body = "{escaped}"\n'
    )
    return script


@contextmanager
def api_running(
    port: int, env: dict[str, str] | None = None, extra: Sequence[str] = ()
) -> Iterator[str]:
    """`lookalike api` in its own process on loopback, once its index answers; its base URL.
    It is stopped on the way out."""
    url = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).with_name("lookalike")), "api", "--port", str(port), *extra]
    api = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/readyz").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or api.poll() is not None:
                    raise SystemExit("the API did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        api.terminate()
        api.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark drives the load with wrk: apt-get install wrk")
    before = engine(2000)
    rows: list[dict[str, Any]] = []
    with api_running(args.port) as url, tempfile.TemporaryDirectory() as tmp:
        rotate = Path(tmp) / "rotate.lua"
        rotate.write_text(ROTATE.format(fmt="test-%d", items=ITEMS))
        for c in (1, 4, 16):
            got = wrk(url, rotate, c, args.seconds)
            rows.append({"query": "similar by item, HTTP", "concurrency": c, **got})
        got = wrk(
            f"{url}/v1/similar/image?k=10", image_script(Path(tmp), item_png()), 1, args.seconds
        )
        rows.append({"query": "similar to an uploaded image, HTTP", "concurrency": 1, **got})
        # The floor: FastAPI and uvicorn answering /healthz, which does no work at all.
        plain = Path(tmp) / "plain.lua"
        plain.write_text("")
        for c in (1, 16):
            got = wrk(f"{url}/healthz", plain, c, args.seconds)
            rows.append({"query": "/healthz (the framework's floor)", "concurrency": c, **got})
    after = engine(2000)
    blank = {"requests_per_s": "-", "requests": "-", "failed": "-"}
    rows[:0] = [
        {"query": "engine in-process, before", "concurrency": 1, **before, **blank},
        {"query": "engine in-process, after", "concurrency": 1, **after, **blank},
    ]
    engine_p50 = (before["p50_ms"] + after["p50_ms"]) / 2
    http_p50 = float(rows[2]["p50_ms"])  # similar by item over HTTP at concurrency 1
    extra = {"seconds": args.seconds, "added_p50_ms": http_p50 - engine_p50}
    print(write("api", rows, extra).read_text())
    print(f"the HTTP service adds {http_p50 - engine_p50:.3f} ms to the engine's p50")


if __name__ == "__main__":
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
