"""Serving task: promote a new index behind the alias when it passes the quality gate."""

from __future__ import annotations

from prefect import task

from infra.settings import Settings
from infra.store import open_store
from search.promotion import Decision, judge, promote_if_better
from tasks.logs import task_logger


@task(name="promote-index")
def promote_index(settings: Settings, collection: str, gated: bool = True) -> Decision:
    """Promote through the quality gate. A catalog without labels has nothing to gate on
    (``gated=False``): its new index is served as soon as it is complete. The run calling it
    holds the alias lock."""
    floor = _floor(settings)
    alias = settings.served_alias
    with open_store(settings.store) as store:
        if gated:
            decision = promote_if_better(
                store, alias, collection, floor, settings.gate.max_regression
            )
        else:
            previous = store.aliases().get(alias)
            store.set_alias(alias, collection)
            decision = Decision(True, "no labels to measure: served once complete", previous)
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


def passes_gate(settings: Settings, collection: str, gated: bool = True) -> bool:
    """Whether :func:`promote_index` would serve ``collection`` (asked before it moves the
    alias, while no other process can hold the new collection open)."""
    if not gated:
        return True
    with open_store(settings.store) as store:
        decision = judge(
            store, settings.served_alias, collection, _floor(settings), settings.gate.max_regression
        )
    return decision.promoted
