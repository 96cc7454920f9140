"""What each ``lookalike`` sub-command does, once flags have become Settings."""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

from flows.catalog import catalog_pipeline
from flows.evaluate import embedding_table_flow, evaluate_flow
from flows.index import index_flow
from flows.pipeline import pipeline
from flows.queries import QueryService
from flows.report import (
    print_catalog_summary,
    print_hits,
    print_indexes,
    print_metrics,
    print_summary,
    print_table,
)
from flows.train import train_flow
from infra.checkpoints import CheckpointError
from infra.indexes import find_version, list_indexes, prune
from infra.query import Boost, QueryOptions
from infra.settings import Settings
from infra.store import Condition, StoreError, open_store
from model.backbones import BackboneError
from model.catalog import CatalogError, typed
from model.data import LABEL_NAMES, DatasetNotFoundError
from model.images import ImageError
from model.sample_catalog import write_sample_catalog
from model.seasons import parse_season, season_of
from tasks.data import load_splits, prepare_data
from tasks.serving import promote_index
from tasks.training import model_ref

KNOWN_ERRORS = (
    DatasetNotFoundError,
    StoreError,
    CheckpointError,
    ImageError,
    CatalogError,
    BackboneError,
    ValueError,
)


def label_names(requested: list[str]) -> tuple[str, ...]:
    """Match label names case-insensitively; unknown names fail with the list of known ones."""
    known = {name.lower(): name for name in LABEL_NAMES}
    unknown = [r for r in requested if r.lower() not in known]
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r}; known labels: {', '.join(LABEL_NAMES)}")
    return tuple(known[r.lower()] for r in requested)


def _pair(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"{flag} wants KEY=VALUE, got {text!r}")
    return key, value


def conditions(args: argparse.Namespace) -> tuple[Condition, ...]:
    out: list[Condition] = []
    if args.label:
        out.append(Condition("label_name", any_of=label_names(args.label)))
    if args.not_label:
        out.append(Condition("label_name", none_of=label_names(args.not_label)))
    if args.split:
        out.append(Condition.equals("split", args.split))
    for text in args.where:
        key, value = _pair(text, "--where")
        out.append(Condition.equals(key, typed(value)))
    for text in args.range:
        key, value = _pair(text, "--range")
        low, _, high = value.partition(":")
        out.append(
            Condition(key, gte=float(low) if low else None, lte=float(high) if high else None)
        )
    return tuple(out)


def _season(text: str, settings: Settings) -> str:
    if text.lower() == "current":
        return season_of(dt.date.today(), settings.hemisphere)
    return parse_season(text)


def query_options(args: argparse.Namespace, settings: Settings) -> QueryOptions:
    where = conditions(args)
    if args.season:
        where += (Condition.equals("season", _season(args.season, settings)),)
    boost = None
    if args.boost_season:
        boost = Boost("season", (_season(args.boost_season, settings),), settings.season_boost)
    return QueryOptions(
        boost=boost,
        k=args.k,
        where=where,
        offset=args.offset,
        score_threshold=args.score_threshold,
        max_per_label=args.max_per_label,
        hnsw_ef=args.hnsw_ef,
    )


def _query(args: argparse.Namespace, settings: Settings) -> None:
    opts = query_options(args, settings)
    with QueryService(settings) as service:
        if args.command == "recommend":
            hits = service.recommend(args.like, args.dislike, args.strategy, opts)
            what = f"liked {', '.join(args.like)}"
        elif args.image:
            hits = service.similar_image(Path(args.image), opts)
            what = args.image
        else:
            hits = service.similar_item(args.item_id, opts)
            what = args.item_id
    print(f"items most like {what} in {settings.served_alias!r}:")
    print_hits(hits)


def _index(args: argparse.Namespace, settings: Settings) -> None:
    if args.index_command == "build":
        collection, points = index_flow(
            settings, model_ref(args.checkpoint), prepare_data(settings)
        )
        print(f"{points} points in {collection!r}")
        metrics = evaluate_flow(
            settings, model_ref(args.checkpoint), collection, prepare_data(settings)
        )
        print_metrics(metrics)
        decision = promote_index(settings, collection)
        print(f"alias {settings.served_alias}: promoted={decision.promoted} ({decision.reason})")
        return
    store = open_store(settings)
    try:
        if args.index_command == "ls":
            print_indexes(list_indexes(store, settings.served_alias, settings.dataset))
        elif args.index_command == "prune":
            gone = prune(store, settings.served_alias, settings.dataset, args.keep)
            print(f"deleted {len(gone)} index(es): {', '.join(gone) or 'none'}")
    finally:
        store.close()


def _promote(args: argparse.Namespace, settings: Settings) -> None:
    store = open_store(settings)
    try:
        collection = find_version(store, settings.dataset, args.version)
        store.set_alias(settings.served_alias, collection)
    finally:
        store.close()
    print(f"alias {settings.served_alias} -> {collection}")


def _evaluate(args: argparse.Namespace, settings: Settings) -> None:
    store = open_store(settings)
    try:
        name = (
            find_version(store, settings.dataset, args.version)
            if args.version
            else settings.served_alias
        )
        collection = store.resolve(name)
        checkpoint = str(store.metadata(collection).get("checkpoint", ""))
    finally:
        store.close()
    data = prepare_data(settings)
    metrics = evaluate_flow(settings, model_ref(checkpoint), collection, data)
    print_metrics(metrics)
    if args.table:
        print_table(embedding_table_flow(settings, collection, data))


def tensorboard(settings: Settings, port: int, print_only: bool) -> None:
    logdir = settings.runs_dir / "tensorboard"
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    print(" ".join(cmd))
    if not print_only:
        print(f"TensorBoard at http://127.0.0.1:{port} (Ctrl-C stops it)")
        subprocess.run(cmd, check=False)


def _sample_catalog(args: argparse.Namespace, settings: Settings) -> None:
    data = prepare_data(settings)
    _, test = load_splits(settings, data.root)
    out = Path(args.directory).expanduser().resolve()
    sample = write_sample_catalog(test, out, args.n, args.size, broken=args.broken)
    print(f"{len(sample.good)} items and {len(sample.bad)} bad files written to {out}")
    print(f"index it with: lookalike run --catalog {out}")


def run_command(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "run" and settings.catalog is not None:
        print_catalog_summary(catalog_pipeline(settings))
    elif args.command == "run":
        print_summary(pipeline(settings))
    elif args.command == "sample-catalog":
        _sample_catalog(args, settings)
    elif args.command == "train":
        ref = train_flow(settings)
        print(f"model {ref.model_version} written to {ref.checkpoint}")
    elif args.command == "index":
        _index(args, settings)
    elif args.command == "promote":
        _promote(args, settings)
    elif args.command == "evaluate":
        _evaluate(args, settings)
    elif args.command == "tensorboard":
        tensorboard(settings, args.port, args.print_only)
    elif args.command == "serve":
        from prefect import serve

        from flows.cli import overrides_from
        from flows.deployments import build_deployments

        serve(*build_deployments(settings, overrides_from(args)))
    elif args.command in ("similar", "recommend"):
        _query(args, settings)
