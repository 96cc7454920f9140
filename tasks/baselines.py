"""The embedding table of issue "Embeddings worth recommending from": learned vs naive ones."""

from __future__ import annotations

import numpy as np
from prefect import task

from catalogs.base import SourceInfo
from catalogs.fashion_mnist import load_splits
from infra.settings import Settings
from infra.store import open_store, point_id
from model.metrics import evaluate_embedding, l2_normalise, pca_fit

PCA_DIM = 64


def stored_vectors(settings: Settings, collection: str, split: str, n: int) -> np.ndarray:
    """The vectors the index holds for ``split``, in item order."""
    with open_store(settings.store) as store:
        out = []
        for start in range(0, n, 5000):
            ids = [point_id(settings.dataset, split, i) for i in range(start, min(start + 5000, n))]
            found = store.vectors(collection, ids)
            out.append(np.stack([found[i] for i in ids]))
        return np.concatenate(out)


@task(name="embedding-table")
def embedding_table(
    settings: Settings, collection: str, source: SourceInfo
) -> dict[str, dict[str, float]]:
    """Full metrics for the learned embedding, raw pixels and PCA-64 of pixels, exact search."""
    if source.kind != "fashion-mnist":
        raise ValueError("the embedding table compares against Fashion-MNIST's raw pixels only.")
    train, test = load_splits(source.location, settings.data.train_limit, settings.data.test_limit)
    y_train, y_test = train.labels.numpy(), test.labels.numpy()
    px_train = train.images.reshape(len(train), -1).float().numpy() / 255.0
    px_test = test.images.reshape(len(test), -1).float().numpy() / 255.0
    mean, axes = pca_fit(px_train, PCA_DIM)
    return {
        "learned": evaluate_embedding(
            stored_vectors(settings, collection, "train", len(train)),
            y_train,
            stored_vectors(settings, collection, "test", len(test)),
            y_test,
        ),
        "raw pixels": evaluate_embedding(
            l2_normalise(px_train), y_train, l2_normalise(px_test), y_test
        ),
        f"PCA-{PCA_DIM}": evaluate_embedding(
            l2_normalise((px_train - mean) @ axes),
            y_train,
            l2_normalise((px_test - mean) @ axes),
            y_test,
        ),
    }
