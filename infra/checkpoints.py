"""Checkpoint files: atomic writes, content-derived model versions, safe (weights-only) loads."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

FORMAT = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or not one of ours."""


def model_version(state_dict: dict[str, torch.Tensor], model_args: dict[str, Any]) -> str:
    """A 12-hex-digit hash of the weights and architecture: same content, same version."""
    h = hashlib.sha256(json.dumps(model_args, sort_keys=True).encode())
    for key in sorted(state_dict):
        h.update(key.encode())
        h.update(state_dict[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def save_checkpoint(directory: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as ``<directory>/<model_version>.pt`` atomically and return the path.

    ``payload`` must hold ``state_dict`` and ``model_args``; ``model_version`` and ``format``
    are added here.
    """
    version = model_version(payload["state_dict"], payload["model_args"])
    payload = {**payload, "model_version": version, "format": FORMAT}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{version}.pt"
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)  # a reader never sees half a checkpoint
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint without unpickling arbitrary objects."""
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}: run `lookalike train` (or `run`) first.")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path} is not a readable Lookalike checkpoint ({type(exc).__name__}): delete it and "
            "train again."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Lookalike checkpoint of format {FORMAT}.")
    return payload
