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


def knn_accuracy(query_labels: np.ndarray, neighbour_labels: np.ndarray, k: int = 10) -> float:
    """Share of queries whose majority label among ``k`` neighbours is theirs (ties: nearest)."""
    if len(query_labels) == 0:
        return float("nan")
    top = neighbour_labels[:, :k]
    n_classes = int(max(top.max(), query_labels.max())) + 1
    votes = np.zeros((len(top), n_classes))
    # Each vote weighs 1 plus a tiny bonus for rank, so ties go to the nearer neighbour.
    weights = 1.0 + 1e-6 * (k - np.arange(k))[None, :]
    np.add.at(votes, (np.arange(len(top))[:, None], top), weights[:, : top.shape[1]])
    return float(np.mean(votes.argmax(1) == query_labels))


def map_at_r(
    query_labels: np.ndarray, neighbour_labels: np.ndarray, class_counts: np.ndarray
) -> float:
    """MAP@R ("A Metric Learning Reality Check", Musgrave et al. 2020).

    For a query of class c, R = ``class_counts[c]`` (items of that class in the index); over its R
    nearest neighbours, average precision@i at each relevant rank i, divided by R.
    ``neighbour_labels`` must hold at least max R columns.
    """
    r = class_counts[query_labels]
    if neighbour_labels.shape[1] < int(r.max()):
        raise ValueError(f"MAP@R needs {int(r.max())} neighbours, got {neighbour_labels.shape[1]}")
    width = int(r.max())
    rel = neighbour_labels[:, :width] == query_labels[:, None]
    rel &= np.arange(width)[None, :] < r[:, None]
    precision = np.cumsum(rel, axis=1) / np.arange(1, width + 1)[None, :]
    return float(np.mean((precision * rel).sum(axis=1) / r))


def retrieval_metrics(query_labels: np.ndarray, neighbour_labels: np.ndarray) -> dict[str, float]:
    """precision@1 and recall@10 (or recall@k for the k neighbours given, when fewer)."""
    k = min(10, neighbour_labels.shape[1])
    return {
        "precision_at_1": precision_at_1(query_labels, neighbour_labels),
        f"recall_at_{k}": recall_at_k(query_labels, neighbour_labels, k),
    }


def without_copies(
    query_labels: np.ndarray, neighbour_labels: np.ndarray, copied: np.ndarray
) -> dict[str, float]:
    """precision@1 over the queries that have no near-copy among the index items (``copied``: a
    mask over the queries), so memorised copies cannot lift it; empty when every query has one."""
    kept = ~copied
    if not kept.any():
        return {}
    return {
        "precision_at_1_without_copies": precision_at_1(query_labels[kept], neighbour_labels[kept])
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


def full_metrics(
    query_labels: np.ndarray, neighbour_labels: np.ndarray, class_counts: np.ndarray
) -> dict[str, float]:
    """The metric-learning table: precision@1, recall@1/5/10, MAP@R, kNN accuracy (k=10)."""
    out = {"precision_at_1": precision_at_1(query_labels, neighbour_labels)}
    for k in (1, 5, 10):
        out[f"recall_at_{k}"] = recall_at_k(query_labels, neighbour_labels, k)
    out["map_at_r"] = map_at_r(query_labels, neighbour_labels, class_counts)
    out["knn_accuracy"] = knn_accuracy(query_labels, neighbour_labels, 10)
    return out


def evaluate_embedding(
    index: np.ndarray, index_labels: np.ndarray, queries: np.ndarray, query_labels: np.ndarray
) -> dict[str, float]:
    """:func:`full_metrics` of unit vectors, with an exact search deep enough for MAP@R."""
    counts = np.bincount(index_labels, minlength=int(query_labels.max()) + 1)
    depth = max(10, int(counts[np.unique(query_labels)].max()))
    neighbours = brute_force_search(index, chunk=256)(queries, min(depth, len(index)))
    labels = index_labels.astype(np.int16)[neighbours]
    return full_metrics(query_labels, labels, counts)


def pca_fit(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top-``dim`` principal axes [D, dim] of rows ``x``, largest variance first.

    Exact (an eigendecomposition of the D x D covariance), so the baseline is the same every run;
    a randomised PCA moved its precision@1 by up to 0.002 between runs.
    """
    mean = x.mean(axis=0)
    centred = torch.from_numpy(x - mean).double()
    _, vectors = torch.linalg.eigh(centred.T @ centred)
    axes = vectors.flip(1)[:, :dim]  # eigh sorts ascending
    return mean, axes.to(torch.float32).numpy()
