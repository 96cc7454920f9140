"""Plain-text output for people at a terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from infra.store import Hit
from search.promotion import IndexInfo

if TYPE_CHECKING:
    from search.reports import RunSummary

SHOWN_WEAK = 6  # weak filter values listed under a collection's row


def print_hits(hits: Sequence[Hit], indent: str = "  ") -> None:
    for rank, h in enumerate(hits, 1):
        item, label = h.payload.get("item_id", h.id), h.payload.get("label_name", "?")
        season = f" {h.payload['season']:<7}" if "season" in h.payload else ""
        print(f"{indent}{rank:>2}. {item:<12} {label:<12}{season} score {h.score:.4f}")


def print_metrics(metrics: dict[str, float]) -> None:
    """The learned embedding beside raw pixels, metric by metric; counts (the copies between
    the splits) are a line of their own, saying what they are."""
    from search.reports import copies_line, shown

    names = sorted({k.removeprefix("pixels_") for k in metrics if not k.endswith("_count")})
    width = max([16, *(len(n) + 2 for n in names)])
    print(f"  {'metric':<{width}}{'learned':>10}{'raw pixels':>12}")
    for name in names:
        values = (metrics.get(name), metrics.get(f"pixels_{name}"))
        cells = [f"{'-' if v is None else shown(name, v):>10}" for v in values]
        print(f"  {name:<{width}}{cells[0]}  {cells[1]}")
    line = copies_line(metrics)
    if line:
        print(f"  {line}")


def print_summary(s: RunSummary) -> None:
    print()
    print(f"Lookalike run: {s.source.description}, model {s.model.model_version}")
    print(f"  items: {s.source.count} indexed, {len(s.source.problems)} left out")
    for p in s.source.problems:
        print(f"    left out {p.item_id or '?'} ({p.path}): {p.reason}")
    made = "reused" if s.model.cached else f"made on {s.model.device}"
    made += f", trained in {s.model.precision}"
    made += f", recipe {s.model.recipe}" if s.model.recipe else ""
    print(f"  model: {s.model.model_version} ({made}), checkpoint {s.model.checkpoint}")
    print(f"  index: {s.collection}, {s.points} points, {s.embedded} embedded by this run")
    verdict = "promoted" if s.decision.promoted else "NOT promoted"
    print(f"  alias {s.alias}: {verdict} ({s.decision.reason})")
    if s.export:
        print(f"  export: {s.export['summary']}: {s.export['path']}")
    print("  time per stage: " + ", ".join(f"{k} {v:.1f}s" for k, v in s.seconds.items()))
    print(f"  total: {sum(s.seconds.values()):.1f}s")
    if s.metrics:
        print("retrieval (k=10, exact search):")
        print_metrics(s.metrics)
    for item_id, hits in s.examples:
        print(f"more like {item_id}:")
        print_hits(hits, indent="    ")


def print_indexes(
    by_dataset: Mapping[str, Sequence[IndexInfo]], aliases: dict[str, str] | None = None
) -> None:
    """Each dataset's collections; with ``aliases``, which alias serves which."""
    if not any(by_dataset.values()):
        print("no indexes yet: run `lookalike run` (or `lookalike run --catalog DIR`)")
        return
    behind = {c: a for a, c in (aliases or {}).items()}
    for dataset, infos in by_dataset.items():
        served = next((i.collection for i in infos if i.served), None)
        where = f", alias {behind[served]} -> {served}" if served in behind else ""
        print(f"{dataset}{where}:")
        head = f"{'collection':<32}{'points':>8}  {'model':<14}{'p@1':>8}  {'created':<25}"
        head += f"{'export':<9}from"
        print(f"  {'':2}{head}")
        for i in infos:
            print_index(i)
    print(
        "  (* = served by the alias; export = items with neighbour lists written, "
        "`lookalike export`; from = the revision it was copied from; filters served wider ="
        " values the graph answered under recall@10 0.99 when built: recall, then the beam or"
        " scan their queries get, docs/filtering.md)"
    )


def print_index(i: IndexInfo) -> None:
    p1 = f"{i.meta.precision_at_1:.4f}" if i.meta.precision_at_1 is not None else "-"
    mark = "* " if i.served else "  "
    created = i.meta.created_at or "?"
    points = "writing" if i.points is None else str(i.points)
    version = i.meta.model_version or "?"
    export = f"{i.meta.export['items']} it" if i.meta.export else "-"
    row = f"{i.collection:<32}{points:>8}  {version:<14}{p1:>8}  {created:<25}{export:<9}"
    print(f"  {mark}{row}{i.meta.derived_from or '-'}")
    weak = [
        f"{key}={value} ({w.recall:.2f}, {'scanned' if w.hnsw_ef is None else f'beam {w.hnsw_ef}'})"
        for key, values in sorted(i.meta.weak_filters.items())
        for value, w in sorted(values.items())
    ]
    if weak:
        more = f" and {len(weak) - SHOWN_WEAK} more" if len(weak) > SHOWN_WEAK else ""
        print(f"      filters served wider: {', '.join(weak[:SHOWN_WEAK])}{more}")


def print_table(table: dict[str, dict[str, float]]) -> None:
    """One row per embedding, one column per metric."""
    cols = list(next(iter(table.values())))
    print("  " + f"{'embedding':<14}" + "".join(f"{c:>16}" for c in cols))
    for name, row in table.items():
        print("  " + f"{name:<14}" + "".join(f"{row[c]:>16.4f}" for c in cols))
