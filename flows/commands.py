"""What each ``lookalike`` sub-command does, once flags have become Settings."""

from __future__ import annotations

import argparse

from flows.evaluate import evaluate_flow
from flows.index import index_flow
from flows.pipeline import pipeline
from flows.report import print_hits, print_metrics, print_summary
from flows.train import train_flow
from infra.checkpoints import CheckpointError
from infra.query import similar_to_item
from infra.settings import Settings
from infra.store import Condition, StoreError, open_store
from model.data import LABEL_NAMES, DatasetNotFoundError
from tasks.data import prepare_data
from tasks.training import model_ref

KNOWN_ERRORS = (DatasetNotFoundError, StoreError, CheckpointError, ValueError)


def label_names(requested: list[str]) -> tuple[str, ...]:
    """Match label names case-insensitively; unknown names fail with the list of known ones."""
    known = {name.lower(): name for name in LABEL_NAMES}
    unknown = [r for r in requested if r.lower() not in known]
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r}; known labels: {', '.join(LABEL_NAMES)}")
    return tuple(known[r.lower()] for r in requested)


def similar(settings: Settings, item_id: str, k: int, labels: list[str] | None) -> None:
    where = [Condition("label_name", any_of=label_names(labels))] if labels else []
    store = open_store(settings)
    try:
        hits = similar_to_item(store, settings.collection, item_id, k, where)
    finally:
        store.close()
    print(f"items most like {item_id} in {settings.collection!r}:")
    print_hits(hits)


def run_command(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "run":
        print_summary(pipeline(settings))
    elif args.command == "train":
        ref = train_flow(settings)
        print(f"model {ref.model_version} written to {ref.checkpoint}")
    elif args.command == "index":
        points = index_flow(settings, model_ref(args.checkpoint), prepare_data(settings))
        print(f"{points} points in {settings.collection!r}")
    elif args.command == "evaluate":
        print_metrics(evaluate_flow(settings, model_ref(args.checkpoint), prepare_data(settings)))
    elif args.command == "similar":
        similar(settings, args.item_id, args.k, args.label)
