"""The commands that run flows (and so load torch and Prefect), once flags are Settings."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from app.console import print_metrics, print_summary, print_table
from catalogs.fashion_mnist import load_splits
from catalogs.readers import reader_for
from catalogs.sample import write_sample_catalog
from flows.duplicates import duplicates_flow
from flows.evaluate import embedding_table_flow, evaluate_flow
from flows.export import export_flow
from flows.pipeline import pipeline, reindex
from flows.train import train_flow
from infra.settings import Settings
from infra.store import open_store
from model.data import resolve_root
from search.metadata import read_meta
from search.promotion import find_version
from tasks.sources import scan_source
from training.runs import model_ref


def _index_build(args: argparse.Namespace, settings: Settings) -> None:
    print_summary(reindex(settings, args.checkpoint))


def _evaluate(args: argparse.Namespace, settings: Settings) -> None:
    with open_store(settings.store) as store:
        name = (
            find_version(store, settings.dataset, args.version)
            if args.version
            else settings.served_alias
        )
        collection = store.resolve(name)
        checkpoint = read_meta(store, collection).checkpoint or ""
    source = scan_source(settings)
    print_metrics(evaluate_flow(settings, model_ref(checkpoint), collection, source))
    if args.table and reader_for(source).has_pixel_baseline:
        print_table(embedding_table_flow(settings, collection, source))


def tensorboard(settings: Settings, port: int, print_only: bool) -> None:
    logdir = settings.runs_dir / "tensorboard"
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    print(" ".join(cmd))
    if not print_only:
        print(f"TensorBoard at http://127.0.0.1:{port} (Ctrl-C stops it)")
        subprocess.run(cmd, check=False)


def _sample_catalog(args: argparse.Namespace, settings: Settings) -> None:
    root = resolve_root(
        settings.data.data_root,
        settings.data_dir,
        settings.data.debian_data_dir,
        download=settings.data.download,
    )
    _, test = load_splits(str(root), None, None)
    out = Path(args.directory).expanduser().resolve()
    sample = write_sample_catalog(
        test, out, args.n, args.size, broken=args.broken, photos=args.photos
    )
    photos = f" ({len(sample.products)} products)" if args.photos > 1 else ""
    print(f"{len(sample.good)} items{photos} and {len(sample.bad)} bad files written to {out}")
    print(f"index it with: lookalike run --catalog {out}")


def _duplicates(args: argparse.Namespace, settings: Settings) -> None:
    out = Path(args.out).expanduser().resolve() if args.out else None
    found, groups, sheet = duplicates_flow(settings, args.threshold, out=out)
    print(
        f"{len(found.groups)} groups of near-duplicates, {found.items} items in them, among "
        f"{found.points} points of {found.collection} (cosine >= {found.threshold})"
    )
    for n, g in enumerate(found.groups[:5], start=1):
        print(f"  {n}. {len(g.ids)} items, best {g.best:.4f}: {', '.join(g.item_ids[:8])}")
    print(f"groups: {groups}\ncontact sheet of the largest: {sheet}")


def _export(args: argparse.Namespace, settings: Settings) -> None:
    out = Path(args.out).expanduser().resolve() if args.out else None
    done = export_flow(settings, out=out)
    if done:
        print(f"{done['summary']}\nexport: {done['path']}")


def run_command(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "run":
        print_summary(pipeline(settings))
    elif args.command == "sample-catalog":
        _sample_catalog(args, settings)
    elif args.command == "train":
        ref = train_flow(settings)
        print(f"model {ref.model_version} written to {ref.checkpoint}")
    elif args.command == "index":
        _index_build(args, settings)
    elif args.command == "evaluate":
        _evaluate(args, settings)
    elif args.command == "export":
        _export(args, settings)
    elif args.command == "duplicates":
        _duplicates(args, settings)
    elif args.command == "tensorboard":
        tensorboard(settings, args.port, args.print_only)
    elif args.command == "serve":
        from prefect import serve

        from app.cli import overrides_from
        from flows.deployments import build_deployments

        serve(*build_deployments(settings, overrides_from(args)))
