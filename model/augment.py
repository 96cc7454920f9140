"""Batched, device-agnostic preprocessing and augmentation on uint8 image tensors."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Fashion-MNIST train statistics (pixel mean and std over 60k images, on [0, 1]).
MEAN = 0.2860
STD = 0.3530


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, H, W] or [N, C, H, W] -> float [N, C, H, W], standardised."""
    x = images.float().div_(255.0)
    if x.ndim == 3:
        x = x.unsqueeze(1)
    return (x - MEAN) / STD


def random_crop_flip(x: torch.Tensor, generator: torch.Generator, padding: int = 2) -> torch.Tensor:
    """Random translation by up to ``padding`` px (zero-padded crop) and horizontal flip.

    Done on the whole batch at once: one pad, then a gather of shifted windows, so it costs
    little next to the forward pass and runs unchanged on a GPU.
    """
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4, value=float(-MEAN / STD))
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    rows = (torch.arange(h, device=x.device)[None, :] + dy[:, None])[:, None, :, None]
    cols = (torch.arange(w, device=x.device)[None, :] + dx[:, None])[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    out = padded[batch, torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], out.flip(-1), out)
