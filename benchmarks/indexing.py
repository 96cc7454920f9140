"""Indexing throughput end to end (read, preprocess, embed, upsert) against the bare forward pass
of the same model on the same batches, side by side in one run.

Run: `python -m benchmarks.indexing --checkpoint PATH` (LOOKALIKE_DATA_ROOT as usual). Each
end-to-end run indexes the full catalog into a fresh temporary home.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import write
from catalogs.scan import images, load_items
from flows.index import index_flow
from infra.settings import Settings
from infra.store import open_store
from tasks.runners import api_env
from tasks.sources import scan_source
from training.runs import load_embedder, model_ref


def _pixels(settings: Settings, checkpoint: str) -> tuple[torch.Tensor, int]:
    """Every item's preprocessed pixels in memory, and the index flow's batch size."""
    source = scan_source.fn(settings)
    net = load_embedder(checkpoint)
    data = images(source, load_items(source), net.image_size, net.channels)
    return torch.stack([data[i][0] for i in range(len(data))]), (
        settings.index.embed_batch_size or net.batch_size
    )


@torch.inference_mode()
def bare_forward(settings: Settings, checkpoint: str, bf16: bool = False) -> float:
    """Images/s of the model alone over every item, batch by batch, pixels already in memory."""
    pixels, batch = _pixels(settings, checkpoint)
    net = load_embedder(checkpoint, bf16=bf16)
    t = time.perf_counter()
    for s in range(0, len(pixels), batch):
        net(pixels[s : s + batch])
    return len(pixels) / (time.perf_counter() - t)


@torch.inference_mode()
def agreement(settings: Settings, checkpoint: str) -> float:
    """The lowest cosine, item by item, between an item's bf16 and fp32 vectors."""
    pixels, batch = _pixels(settings, checkpoint)
    nets = [load_embedder(checkpoint, bf16=b) for b in (False, True)]
    low = 1.0
    for s in range(0, len(pixels), batch):
        fp32, bf16 = (net(pixels[s : s + batch]) for net in nets)
        low = min(low, float(torch.nn.functional.cosine_similarity(fp32, bf16).min()))
    return low


def end_to_end(settings: Settings, checkpoint: str, **updates: Any) -> dict[str, float]:
    """Images/s of read + preprocess + embed + upsert (the index flow's own timing) into a fresh
    home, and the seconds of the HNSW build that follows, reported apart."""
    with tempfile.TemporaryDirectory() as home:
        s = settings.with_(home=Path(home), **updates)
        indexed = index_flow(s, model_ref(checkpoint), scan_source(s))
        with open_store(s.store) as store:
            meta = store.metadata(indexed.collection)
        return {
            "images_per_s": indexed.points / meta["embed_upsert_seconds"],
            "hnsw_build_s": meta["build_seconds"],
        }


def _warm() -> None:
    import tasks.indexing  # noqa: F401  - what a long-running worker has imported already


def existing_cluster(settings: Settings, checkpoint: str, dask: dict[str, Any]) -> dict[str, float]:
    """The same run on a Dask cluster that is already up, as in production: the cluster's start
    and its workers' imports happen before the timer, the first shard's data and model loads
    inside it."""
    from distributed import Client, LocalCluster

    with (
        # Its workers report to this process's Prefect API, as a deployed cluster's workers
        # would through their own PREFECT_API_URL.
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, env=api_env()) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm)
        return end_to_end(settings, checkpoint, **dask, dask_address=cluster.scheduler_address)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", required=True)
    args = parser.parse_args()
    settings = Settings(progress=False)
    dask = {"task_runner": "dask", "index_workers": 2, "index_shard_size": 5000}
    # The bare pass runs first and last; ratios are against their mean, as this shared
    # machine drifts over the minutes the end-to-end runs take.
    before = bare_forward(settings, args.checkpoint)
    runs = {
        "threads, 1 worker (default)": end_to_end(settings, args.checkpoint),
        "dask, local 2-worker cluster started by the flow": end_to_end(
            settings, args.checkpoint, **dask
        ),
        "dask, existing 2-worker cluster (LOOKALIKE_DASK_ADDRESS)": existing_cluster(
            settings, args.checkpoint, dask
        ),
    }
    after = bare_forward(settings, args.checkpoint)
    bare = (before + after) / 2
    rows: list[dict[str, Any]] = [
        {"run": "bare forward pass, first", "images_per_s": before, "ratio": before / bare},
        {"run": "bare forward pass, last", "images_per_s": after, "ratio": after / bare},
    ]
    rows = [{**r, "hnsw_build_s": "-"} for r in rows]
    rows += [
        {
            "run": k,
            "images_per_s": v["images_per_s"],
            "ratio": v["images_per_s"] / bare,
            "hnsw_build_s": v["hnsw_build_s"],
        }
        for k, v in runs.items()
    ]
    print(write("indexing", rows, {"checkpoint": args.checkpoint}).read_text())


if __name__ == "__main__":
    main()
