"""Checkpoint files: atomic writes, content-derived model versions, safe (weights-only) loads."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from infra.errors import UserError
from infra.files import write_json_atomically

FORMAT = 1


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, unreadable, or not one of ours."""


@dataclass(frozen=True)
class ModelRef:
    """What later tasks need to find a model: a checkpoint path and a version, never tensors."""

    checkpoint: str
    model_version: str
    embedding_dim: int
    train_seconds: float
    device: str
    tensorboard_dir: str
    cached: bool = False
    precision: str = "fp32"  # what it was trained in, and why (model/precision.py)
    recipe: str = ""  # the training recipe and its epochs; "" where none was recorded


def model_version(state_dict: dict[str, torch.Tensor], model_args: dict[str, Any]) -> str:
    """A 12-hex-digit hash of the weights and architecture: same content, same version."""
    h = hashlib.sha256(json.dumps(model_args, sort_keys=True).encode())
    for key in sorted(state_dict):
        h.update(key.encode())
        h.update(state_dict[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def _atomic_save(payload: dict[str, Any], path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)  # a reader never sees half a file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_partial(path: Path, state: dict[str, Any]) -> None:
    """The state of an unfinished training run, replaced after every epoch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(state, path)


def load_partial(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    return state


def save_checkpoint(directory: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as ``<directory>/<model_version>.pt`` atomically and return the path.

    ``payload`` must hold ``state_dict`` and ``model_args``; ``model_version`` and ``format``
    are added here.
    """
    version = model_version(payload["state_dict"], payload["model_args"])
    payload = {**payload, "model_version": version, "format": FORMAT}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{version}.pt"
    _atomic_save(payload, path)
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


_INDEX = "index.json"


def find_cached(directory: Path, key: str) -> Path | None:
    """The checkpoint registered under ``key`` (a training cache key), if it still exists."""
    index = directory / _INDEX
    if not index.is_file():
        return None
    name = json.loads(index.read_text()).get(key)
    path = directory / name if name else None
    return path if path is not None and path.is_file() else None


def register_cached(directory: Path, key: str, path: Path) -> None:
    """Remember ``path`` as the checkpoint for ``key``; the index is replaced atomically."""
    index = directory / _INDEX
    entries = json.loads(index.read_text()) if index.is_file() else {}
    entries[key] = path.name
    write_json_atomically(index, entries)
