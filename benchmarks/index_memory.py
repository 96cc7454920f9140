"""Peak memory of the index flow's writer as the catalog grows (100,000 and 1,000,000 items).

The flow's own tasks, in the flow's order, in one process with the store held open as the flow
holds it: create the collection (the items' digest, their field types), plan (deletions, what
is missing or stale), then for each shard its vectors and the upsert, then finalize (HNSW
build). Embedding a million photos on this CPU would take days, so each shard's vectors are
synthetic (the clustered mixture of ``benchmarks.scale``, 64-d like the Fashion-MNIST model)
and written to the shard file the embedding task would have written; the embedding task holds
one shard at a time whatever the catalog's size. The items are a manifest-like catalog: an
id, a label out of 20, a colour, a price and a file path each.

Memory is resident anonymous memory (Linux's RssAnon: what must fit in RAM), after each step
and its peak sampled every 50 ms; the store's memory-mapped files are left out (the kernel
drops their pages under pressure), the process's peak RSS with them is reported too.

A second run over the same items, unchanged, shows what a re-index that finds nothing to do
holds. Each size runs in a process of its own. ``python -m benchmarks.index_memory [--sizes
100000 1000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import write
from benchmarks.memory import PeakAnonymous, anon_mb, peak_rss_mb
from benchmarks.scale import blocks
from catalogs.base import SourceInfo
from infra.checkpoints import ModelRef, save_checkpoint
from infra.settings import Settings
from infra.store import held_store
from model.configs import EmbeddingNetConfig
from model.net import EmbeddingNet
from search.indexing import write_shard
from tasks.indexing import create_collection, finalize_collection, plan_shards, upsert_shard
from training.runs import model_ref

DIM = 64


def catalog(n: int, folder: Path) -> SourceInfo:
    """``n`` items as a scan writes them (JSON Lines), streamed to the file."""
    items_file = folder / "items.jsonl"
    colours = ("red", "green", "blue", "black", "white")
    with items_file.open("w") as f:
        for i in range(n):
            key = f"p{i:07d}"
            item = {
                "item_id": key,
                "split": "catalog",
                "key": key,
                "label": f"label-{i % 20:02d}",
                "attrs": {"colour": colours[i % 5], "price": 5 + i % 300},
                "path": f"images/{i % 1000:03d}/{key}.jpg",
                "sha1": f"{i:040x}",
            }
            f.write(json.dumps(item) + "\n")
    return SourceInfo(
        kind="files",
        location=str(folder / "manifest.csv"),
        root=str(folder),
        items_file=str(items_file),
        count=n,
        labels=[f"label-{k:02d}" for k in range(20)],
        fingerprint=f"synthetic-{n}",
    )


def synthetic_model(folder: Path, dim: int) -> ModelRef:
    """A real checkpoint (an untrained CNN with ``dim``-d vectors) for the collection to name:
    the index flow asks the model what it embeds in, though the vectors here are synthetic."""
    net = EmbeddingNet(EmbeddingNetConfig(embedding_dim=dim))
    state = net.state_dict()
    path = save_checkpoint(folder, {"state_dict": state, "model_args": net.config.to_dict()})
    return model_ref(str(path))


def synthetic_setup(n: int, folder: Path, dim: int) -> tuple[Settings, ModelRef, SourceInfo]:
    """The settings, model and catalog of ``n`` synthetic items in ``folder``, indexed in
    shards of 2,000 (the size of :func:`benchmarks.scale.blocks`)."""
    source = catalog(n, folder)
    settings = Settings(home=folder / "home", progress=False, dataset="synthetic")
    return settings.with_(index_shard_size=2000), synthetic_model(folder / "model", dim), source


def index_once(
    settings: Settings, model: ModelRef, source: SourceInfo, dim: int = DIM
) -> dict[str, float]:
    """One pass of the index flow's tasks with ``dim``-d vectors; the resident memory after
    each step."""
    marks: dict[str, float] = {}
    start = time.perf_counter()
    with held_store(settings.store):
        revision = create_collection.fn(settings, model, source)
        marks["after_create_mb"] = anon_mb()
        if revision.unchanged:
            marks["seconds"] = time.perf_counter() - start
            return marks
        shards = plan_shards.fn(settings, model, source, revision.collection)
        marks["after_plan_mb"] = anon_mb()
        vectors = blocks(source.count, dim, centres=2000, seed=1)
        folder = settings.runs_dir / "shards" / model.model_version
        for positions in shards:
            v = next(vectors)[1]  # shards and blocks are both 2,000 items here
            path = write_shard(folder / f"{positions[0]:07d}.npz", positions, v)
            upsert_shard.fn(settings, model, source, path, revision.collection)
        marks["after_upsert_mb"] = anon_mb()
        finalize_collection.fn(settings, revision.collection, source.count)
        marks["after_finalize_mb"] = anon_mb()
    marks["seconds"] = time.perf_counter() - start
    return marks


def one_size(n: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="lookalike-index-memory-"))
    try:
        settings, model, source = synthetic_setup(n, folder, DIM)
        row: dict[str, Any] = {"items": n, "start_mb": anon_mb()}
        with PeakAnonymous() as peak:
            first = index_once(settings, model, source)
        row |= {f"index_{k}": v for k, v in first.items()} | {"index_peak_mb": peak.peak_mb}
        with PeakAnonymous() as peak:
            again = index_once(settings, model, source)
        row |= {"unchanged_seconds": again["seconds"], "unchanged_peak_mb": peak.peak_mb}
        row["peak_rss_mb"] = peak_rss_mb()
        return row
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--name", default="index_memory", help="results file name")
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_size(args.one)))
        return
    rows = []
    for n in args.sizes:
        cmd = [sys.executable, "-m", "benchmarks.index_memory", "--one", str(n)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    print(write(args.name, rows, {"dim": DIM}).read_text())


if __name__ == "__main__":
    os.environ.setdefault("LOOKALIKE_PROGRESS", "false")
    main()
