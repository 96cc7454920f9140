from __future__ import annotations

import numpy as np
import pytest

from model.metrics import (
    brute_force_search,
    knn_accuracy,
    l2_normalise,
    map_at_r,
    pca_fit,
    precision_at_1,
    recall_at_k,
    retrieval_metrics,
)


def test_precision_and_recall_on_a_hand_made_case() -> None:
    q = np.array([0, 1, 2])
    nb = np.array([[0, 0, 1], [0, 1, 1], [2, 2, 2]])
    assert precision_at_1(q, nb) == pytest.approx(2 / 3)
    assert recall_at_k(q, nb, 3) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert recall_at_k(q, nb, 1) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="at least 5"):
        recall_at_k(q, nb, 5)


def test_brute_force_search_agrees_with_a_python_loop() -> None:
    rng = np.random.default_rng(0)
    index = l2_normalise(rng.standard_normal((50, 8)).astype(np.float32))
    queries = l2_normalise(rng.standard_normal((7, 8)).astype(np.float32))
    got = brute_force_search(index, chunk=3)(queries, 4)
    for qi, q in enumerate(queries):
        expected = sorted(range(50), key=lambda i: -float(index[i] @ q))[:4]
        assert list(got[qi]) == expected


def test_retrieval_metrics_of_a_perfect_search_are_one() -> None:
    labels = np.repeat(np.arange(3), 12)
    centres = np.eye(3, 4, dtype=np.float32)
    rng = np.random.default_rng(1)
    points = l2_normalise(centres[labels] + 0.01 * rng.standard_normal((36, 4)).astype(np.float32))
    neighbours = brute_force_search(points)(points, 10)
    m = retrieval_metrics(labels, labels[neighbours])
    assert m == {"precision_at_1": 1.0, "recall_at_10": 1.0}


def test_knn_accuracy_majority_and_ties() -> None:
    q = np.array([0, 1])
    nb = np.array([[1, 0, 0], [0, 1, 2]])  # query 0: majority 0; query 1: tie -> nearest is 0
    assert knn_accuracy(q, nb, k=3) == pytest.approx(0.5)


def test_map_at_r_against_the_papers_definition() -> None:
    # R = 2 for class 0, 3 for class 1 (items of each class in the index).
    counts = np.array([2, 3])
    q = np.array([0, 1])
    nb = np.array([[0, 1, 0], [1, 0, 1]])
    # query 0: R=2, relevant at rank 1 only -> (1/1) / 2 = 0.5
    # query 1: R=3, relevant at ranks 1 and 3 -> (1/1 + 2/3) / 3
    expected = (0.5 + (1 + 2 / 3) / 3) / 2
    assert map_at_r(q, nb, counts) == pytest.approx(expected)
    perfect = np.array([[0, 0, 1], [1, 1, 1]])
    assert map_at_r(q, perfect, counts) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="needs 3 neighbours"):
        map_at_r(q, nb[:, :2], counts)


def test_pca_fit_finds_the_largest_variance_axes_every_time() -> None:
    rng = np.random.default_rng(0)
    # Variance 9, 4 and 1 along three orthogonal directions of a random 6-d rotation.
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    x = (rng.normal(size=(2000, 3)) * [3.0, 2.0, 1.0]) @ rotation[:, :3].T + 5.0
    mean, axes = pca_fit(x.astype(np.float32), 2)
    assert np.allclose(mean, 5.0, atol=0.2)
    assert np.allclose(axes.T @ axes, np.eye(2), atol=1e-5)
    # Up to sign, the axes are the two largest directions, in order.
    assert np.allclose(np.abs(axes.T @ rotation[:, :2]), np.eye(2), atol=0.05)
    again = pca_fit(x.astype(np.float32), 2)[1]
    assert np.array_equal(axes, again)


def test_precision_without_copies_leaves_the_copied_queries_out() -> None:
    from model.metrics import without_copies

    labels = np.array([0, 1, 2, 3])
    nearest = np.array([[0], [0], [2], [1]])  # right, wrong, right, wrong
    copied = np.array([True, False, False, True])
    out = without_copies(labels, nearest, copied)
    assert out == {"precision_at_1_without_copies": 0.5}  # the second and third
    assert without_copies(labels, nearest, np.ones(4, dtype=bool)) == {}  # nothing left
