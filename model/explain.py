"""Why two images score what they do: the cosine of their embeddings split over image regions.

Every backbone Lookalike embeds with average-pools a feature map ``F`` (``P = h * w``
positions) and then applies only linear maps and unit norms (:meth:`Embedder.after_pool`). So
the embedding before its last norm is a sum over positions, ``u = sum_p t_p`` with
``t_p = A(F_p) / P + a / P`` (``A`` the linear stages' product, ``a`` their bias, shared evenly;
a unit norm on the way is a per-image constant factor). With ``e = u / |u|`` the score of a
query ``q`` against a hit ``h`` is then exactly::

    e_q . e_h = sum_p (t_p(q) . e_h) / |u_q|

so each position's term is its share of the score, and the map sums to the score: no
approximation, no baseline to choose. The hit's map is the same sum seen from the hit.

:func:`gradient_maps` is the usual fallback for networks without that shape (gradient times
input, per pixel: a first-order estimate, not a decomposition); it is offered beside the exact
map (``method="gradient"``) and measured against it in ``benchmarks/explain.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from model.backbones import Embedder
from model.errors import InputError

Method = Literal["exact", "gradient"]
METHODS: tuple[Method, ...] = ("exact", "gradient")
TOP_SHARE = 0.10  # the share of regions whose part of the score an explanation reports


@dataclass(frozen=True)
class PairMaps:
    """The score of a pair and, for each image, each region's part of it ([h, w] grids)."""

    score: float
    query: np.ndarray
    hit: np.ndarray
    method: Method

    @property
    def grid(self) -> tuple[int, int]:
        h, w = self.query.shape
        return h, w


def position_terms(net: Embedder, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """``t`` [N, P, D] whose sum over positions is each image's embedding before its last
    norm, and the grid (h, w) the positions lie on."""
    spatial = net.spatial_features(images).float()
    h, w = spatial.shape[2:]
    count = h * w
    terms = spatial.flatten(2).transpose(1, 2) / count  # sums to the average pooling
    stages = net.after_pool()
    for stage in stages[:-1]:  # the last is the unit norm the score divides by
        if stage == "normalize":
            terms = terms / terms.sum(1, keepdim=True).norm(dim=2, keepdim=True).clamp_min(1e-12)
        else:
            bias = stage.bias / count if stage.bias is not None else 0.0
            terms = terms @ stage.weight.T + bias
    return terms, (h, w)


@torch.inference_mode()
def exact_maps(net: Embedder, query: torch.Tensor, hit: torch.Tensor) -> PairMaps:
    """The exact split of the cosine of ``query`` and ``hit`` (uint8 [C, S, S] each)."""
    terms, (h, w) = position_terms(net, torch.stack([query, hit]))
    u = terms.sum(1)
    norms = u.norm(dim=1).clamp_min(1e-12)
    e = u / norms[:, None]
    q_map = terms[0] @ e[1] / norms[0]
    h_map = terms[1] @ e[0] / norms[1]
    score = float(e[0] @ e[1])
    return PairMaps(score, _grid(q_map, h, w), _grid(h_map, h, w), "exact")


def gradient_maps(net: Embedder, query: torch.Tensor, hit: torch.Tensor) -> PairMaps:
    """Gradient times input of the score for each image's pixels (the other held fixed),
    summed over channels: [S, S] grids, which need not sum to the score."""
    with torch.enable_grad():
        x = torch.stack([query, hit]).float().requires_grad_(True)
        e = net(x)
        score = e[0] @ e[1].detach() + e[0].detach() @ e[1]  # each image's own gradient
        (grad,) = torch.autograd.grad(score, x)
    maps = (grad * x.detach() / 255.0).sum(1)  # input on the 0-1 pixel scale
    value = float(e[0].detach() @ e[1].detach())
    return PairMaps(value, maps[0].numpy(), maps[1].numpy(), "gradient")


def explain_pair(net: Embedder, query: torch.Tensor, hit: torch.Tensor, method: Method) -> PairMaps:
    """The maps of ``method`` for one pair of preprocessed images, in eval mode."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}: use one of {', '.join(METHODS)}.")
    net.eval()
    fn = exact_maps if method == "exact" else gradient_maps
    return fn(net, query, hit)


def top_share(grid: np.ndarray, fraction: float = TOP_SHARE) -> float:
    """How much of the map's total its largest ``fraction`` of regions carry."""
    values = np.sort(grid.ravel())[::-1]
    top = max(1, math.ceil(fraction * values.size))
    total = float(values.sum())
    return float(values[:top].sum()) / total if total > 0 else 0.0


def upsampled(grid: np.ndarray, size: int) -> np.ndarray:
    """A region grid spread over ``size`` x ``size`` pixels (bilinear): how the deletion
    benchmark ranks pixels by a map (the overlay draws with PIL's own bilinear resize). A
    cell's total is spread over its pixels, so the upsampled map sums to (about) the grid's."""
    t = torch.from_numpy(np.ascontiguousarray(grid, dtype=np.float32))[None, None]
    up = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0, 0]
    return up.numpy() * grid.size / (size * size)


def _grid(values: torch.Tensor, h: int, w: int) -> np.ndarray:
    return values.reshape(h, w).double().numpy()
