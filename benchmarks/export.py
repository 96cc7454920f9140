"""The neighbour export on the served index, side by side with an exact torch self-join.

1. Full export (the code behind `lookalike export`: batched self-queries through the index) at
   k = 20, against an exact self-join of the same vectors (blocked products and top-k with
   torch, written only for this benchmark): seconds, recall@20, the ratio.
2. 1% of the items changed (a third moved, a third removed, a third added) in a copy of the
   collection: the incremental update from the first export against a full export of the copy:
   seconds, lists recomputed, lists repaired from the reserve, lists identical.

torch does the exact scan; the process runs without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE anyway.
`python -m benchmarks.export` after `lookalike run` (LOOKALIKE_HOME names the run's home).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import full_speed_blas

full_speed_blas("benchmarks.export")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import write  # noqa: E402
from infra.settings import Settings  # noqa: E402
from infra.store import PointBatch, VectorStore, open_store, point_id  # noqa: E402
from search.export import ExportSpec  # noqa: E402
from search.export_run import Exported, export_neighbours  # noqa: E402
from search.options import QueryOptions  # noqa: E402

BLOCK = 4096


def _all(store: VectorStore, name: str) -> tuple[list[str], np.ndarray, list[dict[str, Any]]]:
    pages = list(store.points(name))
    ids = [i for p in pages for i in p.ids]
    payloads = [x for p in pages for x in p.payloads]
    return ids, np.concatenate([p.vectors for p in pages]).astype(np.float32), payloads


def exact_join(vectors: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Each row's ``k`` nearest other rows by cosine, exactly."""
    start = time.perf_counter()
    x = torch.from_numpy(vectors)
    x = x / x.norm(dim=1, keepdim=True)
    out = []
    for a in range(0, len(x), BLOCK):
        sims = x[a : a + BLOCK] @ x.T
        sims[torch.arange(len(sims)), torch.arange(a, a + len(sims))] = -2  # not itself
        out.append(sims.topk(k, dim=1).indices)
    return torch.cat(out).numpy(), time.perf_counter() - start


def _lists(path: Path) -> dict[str, list[str]]:
    t = pq.read_table(path, columns=["item_id", "neighbour_id"])
    out: dict[str, list[str]] = {}
    for item, other in zip(t["item_id"].to_pylist(), t["neighbour_id"].to_pylist(), strict=True):
        out.setdefault(item, []).append(other)
    return out


def _change(store: VectorStore, name: str, share: float, seed: int = 3) -> int:
    """Move, remove and add a third of ``share`` of the items each; how many items changed."""
    ids, v, payloads = _all(store, name)
    rng = np.random.default_rng(seed)
    n = max(3, int(len(ids) * share) // 3)
    picked = rng.choice(len(ids), 3 * n, replace=False)
    moved, removed, copied = picked[:n], picked[n : 2 * n], picked[2 * n :]
    noise = rng.normal(0, 0.05, (n, v.shape[1])).astype(np.float32)
    store.upsert(
        name, PointBatch([ids[i] for i in moved], v[moved] + noise, [payloads[i] for i in moved])
    )
    store.delete(name, [ids[i] for i in removed])
    new_ids = [point_id("export-bench", "new", i) for i in range(n)]
    new_payloads = [{**payloads[i], "item_id": f"new-{j}"} for j, i in enumerate(copied)]
    store.upsert(name, PointBatch(new_ids, v[copied] + noise, new_payloads))
    store.finalize(name)
    return 3 * n


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-k", type=int, default=20)
    p.add_argument("--change", type=float, default=0.01, help="0: the full export only")
    p.add_argument("--hnsw-ef", type=int, default=None, help="the export's search beam")
    args = p.parse_args()
    settings = Settings()
    rows: list[dict[str, Any]] = []
    spec = ExportSpec(QueryOptions(k=args.k, hnsw_ef=args.hnsw_ef))
    with tempfile.TemporaryDirectory() as tmp, open_store(settings.store) as store:
        name = store.resolve(settings.served_alias)
        ids, vectors, payloads = _all(store, name)
        items = [str(p.get("item_id", i)) for i, p in zip(ids, payloads, strict=True)]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        full = export_neighbours(store, name, spec, Path(tmp) / "full.parquet")
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        top, exact_s = exact_join(vectors, args.k)
        got = _lists(full.path)
        found = sum(
            len(set(got.get(items[i], [])) & {items[j] for j in top[i]}) for i in range(len(ids))
        )
        recall = found / (len(ids) * args.k)
        rows.append(
            {
                "run": f"full export, {len(ids):,} items, k={args.k}, beam {args.hnsw_ef}",
                "seconds": round(full.seconds, 2),
                "exact join s": round(exact_s, 2),
                "speed-up": round(exact_s / full.seconds, 3),
                f"recall@{args.k}": round(recall, 4),
                "lists computed": full.computed,
                "lists repaired": 0,
                "file MB": round(full.path.stat().st_size / 1e6, 2),
                "peak RSS growth MB": round((rss_after - rss) / 1024, 1),
                "lists identical": "-",
            }
        )
        if args.change > 0:
            rows += _incremental(store, name, spec, full, args.change, tmp, args.k)
    extra = {"collection": name, "k": args.k, "hnsw_ef": args.hnsw_ef}
    print(write("export", rows, extra).read_text())


def _incremental(
    store: VectorStore, name: str, spec: ExportSpec, full: Exported, share: float, tmp: str, k: int
) -> list[dict[str, Any]]:
    """A copy with ``share`` of its items changed: its full export against the incremental
    update from ``full``, the export of the unchanged collection."""
    copy = f"{name}-export-bench"
    if store.has_collection(copy):
        store.delete_collection(copy)
    store.copy_collection(name, copy)
    changed = _change(store, copy, share)
    whole = export_neighbours(store, copy, spec, Path(tmp) / "whole.parquet")
    update = export_neighbours(store, copy, spec, Path(tmp) / "update.parquet", previous=full.path)
    a, b = _lists(whole.path), _lists(update.path)
    same = sum(a[i] == b.get(i) for i in a) / len(a)
    rows = [
        {
            "run": f"{label} ({changed} items changed)",
            "seconds": round(done.seconds, 2),
            "exact join s": "-",
            "speed-up": round(whole.seconds / done.seconds, 3),
            f"recall@{k}": "-",
            "lists computed": done.computed,
            "lists repaired": done.repaired,
            "file MB": round(done.path.stat().st_size / 1e6, 2),
            "peak RSS growth MB": "-",
            "lists identical": "-" if done is whole else round(same, 4),
        }
        for label, done in (
            ("full export of the changed copy", whole),
            ("incremental update", update),
        )
    ]
    store.delete_collection(copy)
    return rows


if __name__ == "__main__":
    main()
