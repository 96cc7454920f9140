"""The ``lookalike`` command: parse flags into Settings, run a flow, print what a person needs."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

import tasks  # noqa: F401  - Prefect defaults first
from app.errors import USER_ERRORS, user_error_names
from infra.settings import Settings

# flag -> (Settings field, type, help)
OVERRIDES: dict[str, tuple[str, type, str]] = {
    "--home": ("home", str, "root for data, checkpoints, runs, embedded store"),
    "--data-root": ("data_root", str, "folder holding Fashion-MNIST"),
    "--qdrant-url": ("qdrant_url", str, "Qdrant server URL, or :memory:"),
    "--alias": ("alias", str, "the alias (or a collection) to serve and query"),
    "--dataset": ("dataset", str, "catalog name, prefix of versioned collections"),
    "--recipe": ("recipe", str, "training preset: fast, default or long"),
    "--epochs": ("epochs", int, "training epochs"),
    "--batch-size": ("batch_size", int, "training batch size"),
    "--lr": ("lr", float, "peak learning rate"),
    "--embedding-dim": ("embedding_dim", int, "embedding dimension"),
    "--width": ("width", int, "channels of the first conv stage"),
    "--device": ("device", str, "auto, cpu or cuda"),
    "--seed": ("seed", int, "random seed"),
    "--train-limit": ("train_limit", int, "use only the first N train items"),
    "--pipeline-cron": ("pipeline_cron", str, "serve: when to run the pipeline"),
    "--index-cron": ("index_cron", str, "serve: when to re-index"),
    "--test-limit": ("test_limit", int, "use only the first N test items"),
    "--catalog": ("catalog", str, "index this product catalog (folder or manifest) instead"),
    "--backbone": ("backbone", str, "catalog backbone: resnet18, resnet50 or fmnist-cnn"),
    "--weights": ("weights", str, "catalog weights: imagenet, none, or a weights file"),
    "--mode": ("catalog_mode", str, "catalog model: off-the-shelf or fine-tuned"),
    "--image-size": ("image_size", int, "catalog image side in pixels"),
    "--finetune-epochs": ("finetune_epochs", int, "fine-tuning epochs"),
    "--season-boost": ("season_boost", float, "score added to in-season items"),
}


def _add_overrides(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (override LOOKALIKE_* variables)")
    for flag, (field, typ, text) in OVERRIDES.items():
        g.add_argument(flag, dest=field, type=typ, default=None, help=text)
    g.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    g.add_argument(
        "--retrain", dest="retrain", action="store_true", default=None, help="ignore cached models"
    )


def _add_query_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("query options")
    g.add_argument("-k", type=int, default=10, help="how many hits (default 10)")
    g.add_argument("--offset", type=int, default=0, help="skip this many hits first")
    g.add_argument("--score-threshold", type=float, default=None, help="drop hits scoring less")
    g.add_argument("--label", nargs="+", default=None, metavar="NAME", help="only these labels")
    g.add_argument("--not-label", nargs="+", default=None, metavar="NAME", help="not these labels")
    g.add_argument("--split", choices=("train", "test"), default=None, help="only this split")
    g.add_argument(
        "--where", action="append", default=[], metavar="KEY=VALUE", help="payload equality"
    )
    g.add_argument(
        "--range", action="append", default=[], metavar="KEY=MIN:MAX", help="numeric range"
    )
    g.add_argument("--max-per-label", type=int, default=None, help="diversity: cap per label")
    g.add_argument(
        "--dedup",
        type=float,
        nargs="?",
        const=0.97,
        default=None,
        metavar="THRESHOLD",
        help="collapse near-duplicates of better hits (cosine, default 0.97)",
    )
    g.add_argument(
        "--diversity", choices=("none", "mmr"), default="none", help="mmr: Qdrant's MMR re-rank"
    )
    g.add_argument(
        "--mmr-lambda", type=float, default=0.5, help="MMR: relevance (1) vs diversity (0)"
    )
    g.add_argument(
        "--hnsw-ef", type=int, default=None, help="search beam for this query (speed vs recall)"
    )
    g.add_argument(
        "--season", default=None, metavar="NAME", help="only this season ('current': today's)"
    )
    g.add_argument(
        "--boost-season",
        default=None,
        metavar="NAME",
        help="rank this season's items higher by --season-boost ('current': today's)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookalike", description="Visual 'more like this'.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_overrides(
        sub.add_parser(
            "run", help="train, index, evaluate, promote: the pipeline (--catalog: a catalog's)"
        )
    )
    p = sub.add_parser("sample-catalog", help="write a sample product catalog to try --catalog")
    p.add_argument("directory", help="where to write it (class folders and manifest.csv)")
    p.add_argument("-n", type=int, default=1000, help="items (default 1000)")
    p.add_argument("--size", type=int, default=128, help="image side in pixels (default 128)")
    p.add_argument("--no-broken", dest="broken", action="store_false", help="no bad files")
    _add_overrides(p)
    _add_overrides(sub.add_parser("train", help="train the embedding model only"))

    index = sub.add_parser("index", help="build, list and prune versioned indexes")
    isub = index.add_subparsers(dest="index_command", required=True)
    p = isub.add_parser("build", help="embed and upsert all items with a checkpoint, then gate")
    p.add_argument("--checkpoint", required=True, help="checkpoint file from `train`")
    _add_overrides(p)
    _add_overrides(isub.add_parser("ls", help="collections, counts, versions, metrics, alias"))
    p = isub.add_parser("prune", help="delete all but the newest N indexes (never the served)")
    p.add_argument("--keep", type=int, required=True)
    _add_overrides(p)

    _add_overrides(sub.add_parser("serve", help="serve scheduled deployments to a Prefect API"))
    p = sub.add_parser("api", help="the HTTP query service over the served alias (/docs)")
    p.add_argument("--host", dest="api_host", default=None, help="address (default 127.0.0.1)")
    p.add_argument("--port", dest="api_port", type=int, default=None, help="port (default 8080)")
    _add_overrides(p)
    p = sub.add_parser("tensorboard", help="start TensorBoard on 127.0.0.1 over the runs")
    p.add_argument("--port", type=int, default=6006)
    p.add_argument("--print-only", action="store_true", help="print the command, start nothing")
    _add_overrides(p)

    p = sub.add_parser("promote", help="serve the index of VERSION (manual promote / rollback)")
    p.add_argument("version", help="a model version (a unique prefix is enough)")
    _add_overrides(p)

    p = sub.add_parser("evaluate", help="measure an index (default: the served one)")
    p.add_argument("--version", default=None, help="the model version whose index to measure")
    p.add_argument(
        "--no-table",
        dest="table",
        action="store_false",
        help="skip the full table (learned vs raw pixels vs PCA-64, MAP@R, kNN accuracy)",
    )
    _add_overrides(p)

    p = sub.add_parser("duplicates", help="groups of near-duplicate items in the index")
    p.add_argument("--threshold", type=float, default=0.97, help="cosine similarity (default 0.97)")
    p.add_argument("--out", default=None, help="groups file, .jsonl or .csv (default: runs/)")
    _add_overrides(p)

    p = sub.add_parser("similar", help="items most like ITEM_ID (or an image), from the index")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("item_id", nargs="?", help="an item id such as test-42 or train-7")
    target.add_argument("--image", default=None, help="a PNG or JPEG file instead of an item")
    _add_query_options(p)
    _add_overrides(p)

    p = sub.add_parser("recommend", help="items like the liked ones, unlike the disliked ones")
    p.add_argument("--like", nargs="+", required=True, metavar="ITEM_ID")
    p.add_argument("--dislike", nargs="+", default=[], metavar="ITEM_ID")
    p.add_argument(
        "--strategy", choices=("average_vector", "best_score", "centroid"), default="average_vector"
    )
    _add_query_options(p)
    _add_overrides(p)
    return parser


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, as JSON-friendly values."""
    fields = {field for field, _, _ in OVERRIDES.values()}
    fields |= {"progress", "retrain", "api_host", "api_port"}
    return {k: v for k, v in vars(args).items() if k in fields and v is not None}


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
            from app.api.main import serve

            serve(settings)
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
