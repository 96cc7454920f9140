"""The ``lookalike`` command: parse flags into Settings, run a flow, print what a person needs."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

import tasks  # noqa: F401  - Prefect defaults first
from app.errors import USER_ERRORS, user_error_names
from app.flags import (
    EXPORT,
    QUERYING,
    SCHEDULE,
    SOURCE,
    STORE,
    TRAINING,
    add_query_flags,
    add_settings,
    overrides_from,
)
from infra.settings import Settings
from search.query import STRATEGIES

METHODS = ("exact", "gradient")  # model.explain's, without importing torch for --help


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookalike", description="Visual 'more like this'.")
    sub = parser.add_subparsers(dest="command", required=True)
    pipeline = (STORE, SOURCE, TRAINING)
    add_settings(
        sub.add_parser(
            "run", help="train, index, evaluate, promote: the pipeline (--catalog: a catalog's)"
        ),
        *pipeline,
        flows=True,
    )
    p = sub.add_parser("sample-catalog", help="write a sample product catalog to try --catalog")
    p.add_argument("directory", help="where to write it (class folders and manifest.csv)")
    p.add_argument("-n", type=int, default=1000, help="items (default 1000)")
    p.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    p.add_argument("--no-broken", dest="broken", action="store_false", help="no bad files")
    p.add_argument(
        "--photos",
        type=int,
        default=1,
        choices=range(1, 6),
        metavar="{1..5}",
        help="photos a product, at most (2-5: each product gets 2 to that many; default 1)",
    )
    add_settings(p, {"--data-root": SOURCE["--data-root"], "--home": STORE["--home"]})
    add_settings(
        sub.add_parser("train", help="train the embedding model only"), *pipeline, flows=True
    )

    index = sub.add_parser("index", help="build, list and prune versioned indexes")
    isub = index.add_subparsers(dest="index_command", required=True)
    p = isub.add_parser("build", help="embed and upsert all items with a checkpoint, then gate")
    p.add_argument("--checkpoint", required=True, help="checkpoint file from `train`")
    add_settings(p, STORE, SOURCE, flows=True)
    add_settings(
        isub.add_parser("ls", help="every dataset's collections, counts, versions, metrics"), STORE
    )
    p = isub.add_parser("prune", help="delete all but the newest N indexes (never the served)")
    p.add_argument("--keep", type=int, required=True)
    add_settings(p, STORE)

    add_settings(
        sub.add_parser("serve", help="serve scheduled deployments to a Prefect API"),
        *pipeline,
        SCHEDULE,
        flows=True,
    )
    p = sub.add_parser("api", help="the HTTP query service over the served alias (/docs)")
    p.add_argument("--host", dest="api_host", default=None, help="address (default 127.0.0.1)")
    p.add_argument("--port", dest="api_port", type=int, default=None, help="port (default 8080)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    add_settings(p, STORE, QUERYING)
    p = sub.add_parser("tensorboard", help="start TensorBoard on 127.0.0.1 over the runs")
    p.add_argument("--port", type=int, default=6006)
    p.add_argument("--print-only", action="store_true", help="print the command, start nothing")
    add_settings(p, {"--home": STORE["--home"]})

    p = sub.add_parser("promote", help="serve the index of VERSION (manual promote / rollback)")
    p.add_argument("version", help="a model version (a unique prefix is enough)")
    add_settings(p, STORE)

    p = sub.add_parser("evaluate", help="measure an index (default: the served one)")
    p.add_argument("--version", default=None, help="the model version whose index to measure")
    p.add_argument(
        "--no-table",
        dest="table",
        action="store_false",
        help="skip the full table (learned vs raw pixels vs PCA-64, MAP@R, kNN accuracy)",
    )
    add_settings(p, STORE, SOURCE, flows=True)

    p = sub.add_parser("duplicates", help="groups of near-duplicate items in the index")
    p.add_argument("--threshold", type=float, default=0.97, help="cosine similarity (default 0.97)")
    p.add_argument("--out", default=None, help="groups file, .jsonl or .csv (default: runs/)")
    add_settings(p, STORE, flows=True)

    p = sub.add_parser("export", help="every item's look-alikes as Parquet (default: exports/)")
    p.add_argument("--out", default=None, help="a .parquet file (default: <home>/exports/)")
    add_settings(p, STORE, EXPORT, flows=True)

    p = sub.add_parser("similar", help="items most like ITEM_ID (or an image), from the index")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("item_id", nargs="?", help="an item id such as test-42 or train-7")
    target.add_argument("--image", default=None, help="a PNG or JPEG file instead of an item")
    p.add_argument(
        "--box",
        default=None,
        metavar="X0,Y0,X1,Y1",
        help="search with a region of the image (fractions of its width and height)",
    )
    add_query_flags(p)
    add_settings(p, STORE, QUERYING)

    p = sub.add_parser("explain", help="why OTHER looks like ITEM: similarity maps as a PNG")
    p.add_argument("ids", nargs="+", metavar="ITEM OTHER", help="two item ids (one with --image)")
    p.add_argument("--image", default=None, help="a PNG or JPEG file instead of the first item")
    p.add_argument("--method", choices=METHODS, default="exact", help="exact (default) or gradient")
    p.add_argument("--out", default=None, help="the PNG to write (default: ITEM-vs-OTHER.png)")
    add_settings(p, STORE)

    p = sub.add_parser("recommend", help="items like the liked ones, unlike the disliked ones")
    p.add_argument("--like", nargs="+", required=True, metavar="ITEM_ID")
    p.add_argument("--dislike", nargs="+", default=[], metavar="ITEM_ID")
    p.add_argument("--strategy", choices=STRATEGIES, default="average_vector")
    add_query_flags(p)
    add_settings(p, STORE, QUERYING)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(**overrides_from(args))


def configure_logging(level: str) -> None:
    """Our loggers at ``level``; everything else (httpx, Prefect's client) only warns."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("lookalike", "app", "flows", "tasks", "search", "training", "catalogs"):
        logging.getLogger(name).setLevel(level)
    for name in ("model", "infra"):
        logging.getLogger(name).setLevel(level)
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).addFilter(_hide_user_errors)


def _hide_user_errors(record: logging.LogRecord) -> bool:
    """Prefect logs a failed run's exception with its traceback, once per task and flow; for a
    user's mistake the command prints one line instead (a bug keeps its traceback)."""
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, USER_ERRORS):
        return False
    text = record.getMessage()
    return not any(name in text for name in user_error_names())


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "settings"
    return f"invalid setting {where}: {err['msg']} (got {err.get('input')!r})"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        print(f"lookalike: {_first_error(exc)}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    # Imported here so that `--help` and flag errors answer at once, and so that commands that
    # only read the store never load torch or Prefect.
    from app.read_commands import is_read_command, run_read_command

    try:
        if is_read_command(args):
            run_read_command(args, settings)
        elif args.command == "api":
            from app.api.serve import serve

            serve(settings, args.workers)
        else:
            from app.commands import run_command
            from app.prefect_server import tie_temporary_server_to_this_process

            tie_temporary_server_to_this_process()
            run_command(args, settings)
    except USER_ERRORS as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
