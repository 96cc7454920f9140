"""The ``lookalike`` command: parse flags into Settings, run a flow, print what a person needs."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

import tasks  # noqa: F401  - Prefect defaults first
from infra.settings import Settings

# flag -> (Settings field, type, help)
OVERRIDES: dict[str, tuple[str, type, str]] = {
    "--home": ("home", str, "root for data, checkpoints, runs, embedded store"),
    "--data-root": ("data_root", str, "folder holding Fashion-MNIST"),
    "--qdrant-url": ("qdrant_url", str, "Qdrant server URL, or :memory:"),
    "--collection": ("collection", str, "Qdrant collection name"),
    "--epochs": ("epochs", int, "training epochs"),
    "--batch-size": ("batch_size", int, "training batch size"),
    "--lr": ("lr", float, "peak learning rate"),
    "--embedding-dim": ("embedding_dim", int, "embedding dimension"),
    "--width": ("width", int, "channels of the first conv stage"),
    "--device": ("device", str, "auto, cpu or cuda"),
    "--seed": ("seed", int, "random seed"),
    "--train-limit": ("train_limit", int, "use only the first N train items"),
    "--test-limit": ("test_limit", int, "use only the first N test items"),
}


def _add_overrides(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (override LOOKALIKE_* variables)")
    for flag, (field, typ, text) in OVERRIDES.items():
        g.add_argument(flag, dest=field, type=typ, default=None, help=text)
    g.add_argument("--no-progress", dest="progress", action="store_false", default=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookalike", description="Visual 'more like this'.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_overrides(sub.add_parser("run", help="train, index, evaluate: the whole pipeline"))
    _add_overrides(sub.add_parser("train", help="train the embedding model only"))
    for name, text in (("index", "embed and upsert all items"), ("evaluate", "measure the index")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--checkpoint", required=True, help="checkpoint file from `train`")
        _add_overrides(p)
    p = sub.add_parser("similar", help="items most like ITEM_ID, from the index")
    p.add_argument("item_id", help="an item id such as test-42 or train-7")
    p.add_argument("-k", type=int, default=10, help="how many hits (default 10)")
    p.add_argument("--label", nargs="+", default=None, metavar="NAME", help="only these labels")
    _add_overrides(p)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    fields = {field for field, _, _ in OVERRIDES.values()} | {"progress"}
    values: dict[str, Any] = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    return Settings(**values)


def configure_logging(level: str) -> None:
    """Our loggers at ``level``; everything else (httpx, Prefect's client) only warns."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("lookalike", "flows", "tasks", "model", "infra"):
        logging.getLogger(name).setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        print(f"lookalike: invalid setting: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    # Imported here so that `--help` and flag errors answer without loading torch and Prefect.
    from flows.commands import KNOWN_ERRORS, run_command

    try:
        run_command(args, settings)
    except KNOWN_ERRORS as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
