"""Flow: every item's look-alikes of an index (default: the served one), written on demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from infra.settings import Settings
from tasks.export import export_collection


@flow(name="export", flow_run_name="export-{settings.dataset}")
def export_flow(
    settings: Settings, alias: str | None = None, out: Path | None = None
) -> dict[str, Any] | None:
    """Read-only on the store: it shares a served collection with a running API."""
    return export_collection(settings, alias or settings.served_alias, out, read_only=True)
