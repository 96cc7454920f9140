"""Baselines beside the learned embedding, over raw pixels: the pixels themselves and PCA of
them, searched exactly; and the near-copies between the splits that raw pixels reveal.

A copy is a matter of pixels, not of the learned space: a metric-learning model pulls the items
of a class together on purpose, so a high cosine there means "the same kind of garment".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.metrics import (
    brute_force_search,
    evaluate_embedding,
    l2_normalise,
    pca_fit,
    retrieval_metrics,
    without_copies,
)

PCA_DIM = 64
# Raw-pixel cosine from which a test item's nearest train image is a copy of it: the same
# photo up to a print or a few pixels. On Fashion-MNIST 54 of the 10,000 test items reach it,
# and the pairs from 0.998 on are the same image; at 0.99, 545 do, mostly garments of one cut.
COPY_COSINE = 0.995
# How many queries have such a copy: a count, named ``_count`` so it reads as one.
COPIES = "pixels_copies_count"


@dataclass(frozen=True)
class Pixels:
    """Raw pixels (uint8 [N, D]) and label numbers of the index items and of the queries."""

    index: np.ndarray
    index_labels: np.ndarray
    queries: np.ndarray
    query_labels: np.ndarray


def pixel_baseline(px: Pixels, k: int = 10) -> tuple[dict[str, float], np.ndarray]:
    """Raw pixels' metrics (784-d, L2-normalised, exact search), and which queries have a copy
    among the index items (a mask); precision@1 without those is among the metrics."""
    index = l2_normalise(px.index.astype(np.float32))
    queries = l2_normalise(px.queries.astype(np.float32))
    neighbours = brute_force_search(index)(queries, k)
    found = px.index_labels[neighbours]
    top = np.einsum("ij,ij->i", queries, index[neighbours[:, 0]])
    copied = top >= COPY_COSINE
    metrics = retrieval_metrics(px.query_labels, found)
    return metrics | without_copies(px.query_labels, found, copied), copied


def embedding_table(
    px: Pixels, learned_index: np.ndarray, learned_queries: np.ndarray
) -> dict[str, dict[str, float]]:
    """Full metrics for the learned embedding, raw pixels and PCA-64 of pixels, exact search."""
    train = px.index.astype(np.float32) / 255.0
    test = px.queries.astype(np.float32) / 255.0
    mean, axes = pca_fit(train, PCA_DIM)
    return {
        "learned": evaluate_embedding(
            learned_index, px.index_labels, learned_queries, px.query_labels
        ),
        "raw pixels": evaluate_embedding(
            l2_normalise(train), px.index_labels, l2_normalise(test), px.query_labels
        ),
        f"PCA-{PCA_DIM}": evaluate_embedding(
            l2_normalise((train - mean) @ axes),
            px.index_labels,
            l2_normalise((test - mean) @ axes),
            px.query_labels,
        ),
    }
