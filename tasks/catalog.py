"""Catalog tasks: read and check a product catalog, and get the model that embeds it
(a backbone off the shelf, or fine-tuned on the catalog labels)."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from prefect import task

from infra.checkpoints import (
    find_cached,
    load_checkpoint,
    model_version,
    register_cached,
    save_checkpoint,
)
from infra.files import write_json_atomically, write_json_lines_atomically
from infra.settings import Settings
from infra.tensorboard import TensorBoardSink
from model.backbones import BackboneError, CatalogNet, create_backbone, rebuild
from model.catalog import (
    CatalogImages,
    CatalogItem,
    Problem,
    check_items,
    fingerprint,
    label_names,
    read_catalog,
)
from model.finetune import FineTuneConfig, finetune
from model.train import pick_device
from tasks.logs import task_logger
from tasks.training import ModelRef, new_tb_dir, public_config


@dataclass(frozen=True)
class CatalogInfo:
    """A checked catalog, as later tasks need it: the items live in a file, not in the result."""

    source: str
    items_file: str
    count: int
    labels: list[str]
    fingerprint: str
    problems: list[Problem]


def catalog_dir(settings: Settings) -> Path:
    return settings.runs_dir / "catalogs" / settings.dataset


@task(name="scan-catalog", task_run_name="scan-{settings.dataset}", timeout_seconds=4 * 3600)
def scan_catalog(settings: Settings) -> CatalogInfo:
    """Read the catalog, check every image once (unchanged files are remembered), and report
    what was left out and why."""
    if settings.catalog is None:
        raise ValueError("no catalog given: pass --catalog PATH (or set LOOKALIKE_CATALOG).")
    items, problems = read_catalog(settings.catalog)
    cache_file = catalog_dir(settings) / "checks.json"
    cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    good, bad = check_items(items, cache)
    write_json_atomically(cache_file, cache)
    items_file = catalog_dir(settings) / "items.jsonl"
    rows = [{**asdict(i), "path": str(i.path)} for i in good]
    write_json_lines_atomically(items_file, rows)
    problems += bad
    log = task_logger(__name__)
    log.info("%s: %d items to index, %d left out", settings.catalog, len(good), len(problems))
    for p in problems:
        log.warning("left out %s (%s): %s", p.item_id or "?", p.path, p.reason)
    return CatalogInfo(
        str(settings.catalog),
        str(items_file),
        len(good),
        label_names(good),
        fingerprint(good),
        problems,
    )


def load_items(info: CatalogInfo) -> list[CatalogItem]:
    return _items(info.items_file, info.fingerprint)


@functools.lru_cache(maxsize=4)
def _items(items_file: str, fingerprint: str) -> list[CatalogItem]:
    with open(items_file, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [CatalogItem(**{**r, "path": Path(r["path"])}) for r in rows]


def catalog_images(net: CatalogNet, info: CatalogInfo, items: list[CatalogItem]) -> CatalogImages:
    return CatalogImages(items, net.image_size, net.channels, info.labels)


def load_catalog_model(checkpoint: str, device: torch.device | None = None) -> CatalogNet:
    """The catalog model of a checkpoint, loaded once per process and device."""
    return _load(checkpoint, str(device or torch.device("cpu")))


@functools.lru_cache(maxsize=2)
def _load(checkpoint: str, device: str) -> CatalogNet:
    payload = load_checkpoint(Path(checkpoint))
    return rebuild(payload["model_args"], payload["state_dict"]).to(torch.device(device))


def catalog_model_ref(checkpoint: str) -> ModelRef:
    """A :class:`ModelRef` for an existing catalog checkpoint (e.g. the served index's)."""
    payload = load_checkpoint(Path(checkpoint))
    net = rebuild(payload["model_args"], payload["state_dict"])
    seconds = float(payload.get("train_seconds", 0.0))
    return ModelRef(checkpoint, payload["model_version"], net.embedding_dim, seconds, "cpu", "")


def _weights_id(weights: str) -> str:
    if weights in ("imagenet", "none"):
        return weights
    if not Path(weights).is_file():
        raise BackboneError(f"no weights file at {weights}: pass imagenet, none, or a file.")
    stat = Path(weights).stat()
    return f"{Path(weights).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def finetune_config(settings: Settings) -> FineTuneConfig:
    return FineTuneConfig(
        epochs=settings.finetune_epochs,
        batch_size=settings.finetune_batch_size,
        lr=settings.finetune_lr,
        scale=1.0 / settings.temperature,
        seed=settings.seed,
    )


def model_key(settings: Settings, info: CatalogInfo) -> str:
    """Cache key of a catalog model: backbone, weights, recipe and the catalog's contents."""
    spec: dict[str, Any] = {
        "backbone": settings.backbone,
        "weights": _weights_id(settings.weights),
        "image_size": settings.image_size,
        "mode": settings.catalog_mode,
        "seed": settings.seed,
    }
    if settings.catalog_mode == "fine-tuned":
        spec |= {
            "head_dim": settings.head_dim,
            "finetune": finetune_config(settings).to_dict(),
            "catalog": info.fingerprint,
        }
    return "catalog-" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _save(settings: Settings, net: CatalogNet, extra: dict[str, Any]) -> Path:
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    version = model_version(state, net.model_args())
    path = settings.checkpoint_dir / f"{version}.pt"
    if path.is_file():
        return path
    payload = {"state_dict": state, "model_args": net.model_args(), "kind": "catalog", **extra}
    return save_checkpoint(settings.checkpoint_dir, payload)


def _ref(
    path: Path, net: CatalogNet, seconds: float, device: str, tb: str, cached: bool
) -> ModelRef:
    return ModelRef(str(path), path.stem, net.embedding_dim, seconds, device, tb, cached)


@task(name="catalog-model", task_run_name="model-{settings.backbone}", timeout_seconds=24 * 3600)
def catalog_model(settings: Settings, info: CatalogInfo) -> ModelRef:
    """The backbone as configured, fine-tuned when asked; its checkpoint is reused when the
    backbone, weights, recipe and (for fine-tuning) the catalog are unchanged."""
    key = model_key(settings, info)
    cached = None if settings.retrain else find_cached(settings.checkpoint_dir, key)
    if cached is not None:
        net = load_catalog_model(str(cached))
        return _ref(cached, net, 0.0, "cpu", "", cached=True)
    fine = settings.catalog_mode == "fine-tuned"
    net = create_backbone(
        settings.backbone,
        settings.weights,
        settings.image_size,
        settings.head_dim if fine else None,
        settings.seed,
    )
    device = pick_device(settings.device)
    extra: dict[str, Any] = {"weights": settings.weights, "mode": settings.catalog_mode}
    seconds, tb = 0.0, ""
    if fine:
        tb_dir = new_tb_dir(settings)
        data = catalog_images(net, info, load_items(info))
        with TensorBoardSink(tb_dir) as sink:
            result = finetune(
                net.to(device), data, len(info.labels), finetune_config(settings), sink
            )
        seconds, tb = result.seconds, str(tb_dir)
        extra |= {
            "history": result.history,
            "train_seconds": seconds,
            "catalog_fingerprint": info.fingerprint,
            "labels": info.labels,
            "config": public_config(settings),
        }
    path = _save(settings, net.cpu(), extra)
    register_cached(settings.checkpoint_dir, key, path)
    task_logger(__name__).info(
        "catalog model %s (%s, %s)", path.stem, settings.backbone, settings.catalog_mode
    )
    return _ref(path, net, seconds, str(device), tb, cached=False)
