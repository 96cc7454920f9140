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


def random_erase(
    x: torch.Tensor, generator: torch.Generator, p: float = 0.5, max_frac: float = 0.25
) -> torch.Tensor:
    """Random erasing: with probability ``p`` blank a random rectangle (up to ``max_frac`` of each
    side squared) to the background value, batched like :func:`random_crop_flip`."""
    n, _, h, w = x.shape
    eh = (torch.rand(n, generator=generator) * max_frac**0.5 * h).long() + 1
    ew = (torch.rand(n, generator=generator) * max_frac**0.5 * w).long() + 1
    top = (torch.rand(n, generator=generator) * (h - eh + 1)).long()
    left = (torch.rand(n, generator=generator) * (w - ew + 1)).long()
    on = torch.rand(n, generator=generator) < p
    rows = torch.arange(h)[None, :]
    cols = torch.arange(w)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])
    mask = (in_rows[:, :, None] & in_cols[:, None, :] & on[:, None, None]).to(x.device)
    return x.masked_fill(mask[:, None], float(-MEAN / STD))
