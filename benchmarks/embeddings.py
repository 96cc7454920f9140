"""Embedding quality of the served index next to raw pixels and PCA-64, in one run.

Run after `lookalike run`: `python -m benchmarks.embeddings`.
"""

from __future__ import annotations

import time

from benchmarks.common import write
from infra.settings import Settings
from infra.store import open_store
from tasks.baselines import embedding_table
from tasks.sources import scan_source


def main() -> None:
    settings = Settings(progress=False)
    with open_store(settings.store) as store:
        collection = store.resolve(settings.served_alias)
        meta = store.metadata(collection)
    source = scan_source.fn(settings)
    t = time.perf_counter()
    table = embedding_table.fn(settings, collection, source)
    rows = [{"embedding": name, **metrics} for name, metrics in table.items()]
    extra = {
        "collection": collection,
        "model_version": meta.get("model_version"),
        "seconds": time.perf_counter() - t,
    }
    print(write("embeddings", rows, extra).read_text())


if __name__ == "__main__":
    main()
