"""Near-duplicate tasks: find them through the index, then write and publish what was found."""

from __future__ import annotations

import base64
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from catalogs.scan import stored_thumbnail
from infra.settings import Settings
from infra.store import open_store
from search.duplicates import Duplicates, find_duplicates, write_groups
from search.metadata import read_meta
from search.reports import THUMB, contact_sheet

SHEET_ROWS = 12


@task(name="find-duplicates")
def find_near_duplicates(settings: Settings, name: str, threshold: float) -> Duplicates:
    with open_store(settings.store) as store:
        return find_duplicates(store, name, threshold)


@task(name="publish-duplicates")
def publish_duplicates(settings: Settings, found: Duplicates, out: Path) -> tuple[Path, Path]:
    """The groups file, a contact sheet of the largest groups beside it, and both as artifacts."""
    write_groups(found, out)
    shown = found.groups[:SHEET_ROWS]
    with open_store(settings.store) as store:
        meta = read_meta(store, found.collection)
        ids = [pid for g in shown for pid in g.ids[:8]]
        payloads = store.payloads(found.collection, ids)
    rows = [
        [stored_thumbnail(meta.kind, meta.root, payloads[p], THUMB) for p in g.ids[:8]]
        for g in shown
    ]
    png = out.with_suffix(".png")
    contact_sheet(rows).save(png)
    table = [
        {
            "group": n,
            "size": len(g.ids),
            "best score": round(g.best, 4),
            "items": ", ".join(
                f"{i} ({lab})" if lab else i for i, lab in zip(g.item_ids, g.labels, strict=True)
            )[:500],
        }
        for n, g in enumerate(found.groups[:50], start=1)
    ]
    summary = (
        f"{len(found.groups)} groups, {found.items} items in them, among {found.points} points "
        f"of {found.collection} at cosine >= {found.threshold}"
    )
    create_table_artifact(
        table or [{"group": 0, "size": 0, "best score": 0, "items": "no near-duplicates"}],
        key="lookalike-duplicates",
        description=summary,
    )
    b64 = base64.b64encode(png.read_bytes()).decode()
    image = f"![the largest groups](data:image/png;base64,{b64})"
    text = f"# Near-duplicates\n\n{summary}.\n\nGroups: `{out}`\n\n{image}\n"
    create_markdown_artifact(text, key="lookalike-duplicates-sheet", description=summary)
    return out, png
