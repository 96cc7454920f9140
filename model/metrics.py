"""Retrieval metrics as pure functions over neighbour labels; the search itself is passed in."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

# A search: (query vectors [Q, D], k) -> neighbour indices [Q, k] into the index set.
Search = Callable[[np.ndarray, int], np.ndarray]


def precision_at_1(query_labels: np.ndarray, neighbour_labels: np.ndarray) -> float:
    """Share of queries whose nearest neighbour has the query's label."""
    if len(query_labels) == 0:
        return float("nan")
    return float(np.mean(neighbour_labels[:, 0] == query_labels))


def recall_at_k(query_labels: np.ndarray, neighbour_labels: np.ndarray, k: int) -> float:
    """Mean share of the ``k`` nearest neighbours that have the query's label."""
    if neighbour_labels.shape[1] < k:
        raise ValueError(f"need at least {k} neighbours per query, got {neighbour_labels.shape[1]}")
    if len(query_labels) == 0:
        return float("nan")
    return float(np.mean(neighbour_labels[:, :k] == query_labels[:, None]))


def retrieval_metrics(query_labels: np.ndarray, neighbour_labels: np.ndarray) -> dict[str, float]:
    """precision@1 and recall@10 (or recall@k for the k neighbours given, when fewer)."""
    k = min(10, neighbour_labels.shape[1])
    return {
        "precision_at_1": precision_at_1(query_labels, neighbour_labels),
        f"recall_at_{k}": recall_at_k(query_labels, neighbour_labels, k),
    }


def brute_force_search(index: np.ndarray, chunk: int = 2048) -> Search:
    """Exact cosine search over unit-normalised ``index`` rows (inner product)."""
    index_t = torch.from_numpy(np.ascontiguousarray(index, dtype=np.float32))

    def search(queries: np.ndarray, k: int) -> np.ndarray:
        q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
        out = [torch.topk(part @ index_t.T, k, dim=1).indices for part in q.split(chunk)]
        return torch.cat(out).numpy() if out else np.zeros((0, k), dtype=np.int64)

    return search


def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
