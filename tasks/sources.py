"""Source task: find and scan the run's catalog (Fashion-MNIST, or a folder or manifest)."""

from __future__ import annotations

from prefect import task

from catalogs.base import SourceInfo
from catalogs.scan import scan_fashion_mnist, scan_files
from infra.settings import Settings
from model.data import resolve_root
from tasks.logs import task_logger


@task(name="scan-source", task_run_name="scan-{settings.dataset}")
def scan_source(settings: Settings) -> SourceInfo:
    """The configured catalog's items, checked, in a file; what was left out, and why."""
    out = settings.runs_dir / "catalogs" / settings.dataset
    if settings.data.catalog is not None:
        info = scan_files(settings.data.catalog, out)
    else:
        root = resolve_root(
            settings.data.data_root,
            settings.data_dir,
            settings.data.debian_data_dir,
            download=settings.data.download,
        )
        info = scan_fashion_mnist(root, settings.data.train_limit, settings.data.test_limit, out)
    log = task_logger(__name__)
    log.info("%s: %d items to index, %d left out", info.description, info.count, len(info.problems))
    for p in info.problems:
        log.warning("left out %s (%s): %s", p.item_id or "?", p.path, p.reason)
    return info
