"""Export task: every item's look-alikes written beside the collection, linked as an artifact."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from infra.settings import Settings
from infra.settings.serving import ExportSettings
from infra.store import StoreBusyError, VectorStore, open_store
from search.export import ExportSpec
from search.export_file import read_export
from search.export_run import check_out, default_path, export_neighbours
from search.metadata import read_meta, write_meta
from search.request import QueryArgs
from tasks.logs import task_logger

SAMPLE_ROWS = 20


def spec_from(export: ExportSettings, labels: list[str]) -> ExportSpec:
    """The export's settings as the spec every list is asked with (the live queries' options)."""
    args = QueryArgs(
        k=export.export_k,
        where=ExportSettings.split(export.export_where),
        max_per_label=export.export_max_per_label,
        dedup=export.export_dedup,
    )
    opts = dataclasses.replace(args.options(labels), hnsw_ef=export.export_hnsw_ef)
    return ExportSpec(opts, same=tuple(ExportSettings.split(export.export_same)))


def _previous(store: VectorStore, settings: Settings, collection: str) -> Path | None:
    """The export to bring up to date: the collection's own, else the served collection's."""
    for name in (collection, store.aliases().get(settings.served_alias)):
        if name and store.has_collection(name):
            record = read_meta(store, name).export
            if record and Path(record["path"]).is_file():
                return Path(record["path"])
    return None


@task(name="export-neighbours")
def export_collection(
    settings: Settings, name: str, out: Path | None = None, read_only: bool = False
) -> dict[str, Any] | None:
    """Write the neighbour lists of collection (or alias) ``name``; what was written. A
    ``read_only`` store shares a served collection with a running API; in a run, a collection
    open in another process (an unchanged index an API serves) is left as it is."""
    try:
        return _export(settings, name, out, read_only)
    except StoreBusyError as exc:
        if read_only:
            raise
        task_logger(__name__).warning("no export in this run: %s", exc)
        return None


def _export(settings: Settings, name: str, out: Path | None, read_only: bool) -> dict[str, Any]:
    with open_store(settings.store, read_only=read_only) as store:
        collection = store.resolve(name)
        spec = spec_from(settings.export, read_meta(store, collection).labels)
        target = check_out(out or default_path(settings.exports_dir, collection))
        formats = ExportSettings.split(settings.export.export_formats)
        done = export_neighbours(
            store, collection, spec, target, formats, _previous(store, settings, collection)
        )
        write_meta(store, collection, export=done.record())
    how = (
        f"updated from {done.previous}'s, {done.computed} lists recomputed, "
        f"{done.repaired} repaired from its reserve"
        if done.previous
        else "in full"
    )
    summary = (
        f"{done.items} items' {spec.opts.k} look-alikes of {collection} ({done.rows} rows, "
        f"{how}) in {done.seconds:.1f} s"
    )
    task_logger(__name__).info("%s: %s", summary, done.path)
    sample = read_export(done.path).slice(0, SAMPLE_ROWS).to_pylist()
    create_table_artifact(sample, key="lookalike-export", description=summary)
    files = "\n".join(f"- `{p}`" for p in (done.path, *done.extra))
    create_markdown_artifact(
        f"# Neighbour export\n\n{summary}.\n\n{files}\n", key="lookalike-export-files"
    )
    return {**done.record(), "collection": collection, "summary": summary}
