"""Serving task: promote a new index behind the alias when it passes the quality gate."""

from __future__ import annotations

from prefect import task

from infra.settings import Settings
from infra.store import open_store
from search.promotion import Decision, carry_out, judge
from tasks.logs import task_logger


@task(name="judge-index")
def judge_index(settings: Settings, collection: str, gated: bool = True) -> Decision:
    """Whether ``collection`` may replace the served index: through the quality gate, or at
    once for a catalog without labels, which has nothing to gate on (``gated=False``). Judged
    once per run, before anything is moved: the export of a passing index is written while no
    other process can hold it open, and the same decision then moves the alias."""
    with open_store(settings.store) as store:
        if not gated:
            previous = store.aliases().get(settings.served_alias)
            return Decision(True, "no labels to measure: served once complete", previous)
        return judge(
            store, settings.served_alias, collection, _floor(settings), settings.gate.max_regression
        )


@task(name="promote-index")
def promote_index(settings: Settings, collection: str, decision: Decision) -> Decision:
    """Carry out :func:`judge_index`'s decision. The run calling it holds the alias lock."""
    alias = settings.served_alias
    with open_store(settings.store) as store:
        carry_out(store, alias, collection, decision)
    log = task_logger(__name__)
    if decision.promoted:
        log.info("alias %s -> %s: %s", alias, collection, decision.reason)
    else:
        log.warning(
            "not promoted, alias %s stays on %s: %s; %s is kept for inspection",
            alias,
            decision.previous,
            decision.reason,
            collection,
        )
    return decision


def _floor(settings: Settings) -> float:
    if settings.data.catalog:
        return settings.gate.catalog_min_precision_at_1
    return settings.gate.min_precision_at_1
