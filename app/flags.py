"""The command line's flags, made from the definitions they stand for: the query options from
:class:`search.request.QueryArgs`, the settings from the fields of :class:`infra.settings.Settings`
each command uses, so a new option or setting is written once."""

from __future__ import annotations

import argparse
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from search.request import Flag, QueryArgs, UsageError

# flag -> (Settings field, type, help), grouped by what a command needs of them.
SettingFlags = dict[str, tuple[str, type, str]]
STORE: SettingFlags = {
    "--home": ("home", str, "root for data, checkpoints, runs, embedded store"),
    "--qdrant-url": ("qdrant_url", str, "Qdrant server URL, or :memory:"),
    "--alias": ("alias", str, "the alias (or a collection) to serve and query"),
    "--dataset": ("dataset", str, "catalog name, prefix of versioned collections"),
}
SOURCE: SettingFlags = {
    "--data-root": ("data_root", str, "folder holding Fashion-MNIST"),
    "--catalog": ("catalog", str, "index this product catalog (folder or manifest) instead"),
    "--train-limit": ("train_limit", int, "use only the first N train items"),
    "--test-limit": ("test_limit", int, "use only the first N test items"),
}
TRAINING: SettingFlags = {
    "--recipe": ("recipe", str, "training preset: auto, fast, default, amx or gpu"),
    "--epochs": ("epochs", int, "training epochs"),
    "--batch-size": ("batch_size", int, "training batch size"),
    "--lr": ("lr", float, "peak learning rate"),
    "--embedding-dim": ("embedding_dim", int, "embedding dimension"),
    "--width": ("width", int, "channels of the first conv stage"),
    "--device": ("device", str, "auto, cpu or cuda"),
    "--seed": ("seed", int, "random seed"),
    "--backbone": ("backbone", str, "catalog backbone: resnet18, resnet50 or fmnist-cnn"),
    "--weights": ("weights", str, "catalog weights: imagenet, none, or a weights file"),
    "--mode": ("catalog_mode", str, "catalog model: off-the-shelf or fine-tuned"),
    "--image-size": ("image_size", int, "catalog image side in pixels"),
    "--finetune-epochs": ("finetune_epochs", int, "fine-tuning epochs"),
}
SCHEDULE: SettingFlags = {
    "--pipeline-cron": ("pipeline_cron", str, "when to run the pipeline"),
    "--index-cron": ("index_cron", str, "when to re-index"),
}
QUERYING: SettingFlags = {
    "--season-boost": ("season_boost", float, "score added to in-season items"),
}
EXPORT: SettingFlags = {
    "-k": ("export_k", int, "neighbours per item"),
    "--where": ("export_where", str, "KEY=VALUE[,KEY=VALUE]: payload a neighbour must match"),
    "--same": ("export_same", str, "FIELD[,FIELD]: payload a neighbour must share (e.g. split)"),
    "--max-per-label": ("export_max_per_label", int, "at most N neighbours per label"),
    "--dedup": ("export_dedup", float, "collapse neighbours this alike (0.97: copies)"),
    "--format": ("export_formats", str, "csv,jsonl: also write these beside the Parquet file"),
}
ALL_SETTINGS: SettingFlags = {
    **STORE,
    **SOURCE,
    **TRAINING,
    **SCHEDULE,
    **QUERYING,
    **EXPORT,
}
SWITCHES = ("progress", "retrain", "api_host", "api_port")  # settings given by other flags


def add_settings(
    p: argparse.ArgumentParser, *groups: SettingFlags, flows: bool = False
) -> argparse.ArgumentParser:
    """The settings flags a command uses, in a group of their own. ``flows``: the command runs
    Prefect flows (progress bars, the training cache)."""
    g = p.add_argument_group("settings (override LOOKALIKE_* variables)")
    for flag, (field, typ, text) in {k: v for grp in groups for k, v in grp.items()}.items():
        g.add_argument(flag, dest=field, type=typ, default=None, help=text)
    if flows:
        g.add_argument(
            "--no-progress", dest="progress", action="store_false", default=None, help="no bars"
        )
    if TRAINING in groups:
        g.add_argument("--retrain", action="store_true", default=None, help="ignore cached models")
    return p


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, as JSON-friendly values."""
    fields = {field for field, _, _ in ALL_SETTINGS.values()} | set(SWITCHES)
    return {k: v for k, v in vars(args).items() if k in fields and v is not None}


def add_query_flags(p: argparse.ArgumentParser) -> None:
    """One flag per field of :class:`QueryArgs`."""
    g = p.add_argument_group("query options")
    for name, field in QueryArgs.model_fields.items():
        flag = next((m for m in field.metadata if isinstance(m, Flag)), Flag())
        g.add_argument(flag.name or _flag(name), **_argument(name, field, flag))


def query_args_from(args: argparse.Namespace) -> QueryArgs:
    """The query options given as flags; a value out of range names its flag."""
    given = {n: getattr(args, n) for n in QueryArgs.model_fields if getattr(args, n) is not None}
    try:
        return QueryArgs(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "options"
        flag = next((m for m in QueryArgs.model_fields[name].metadata if isinstance(m, Flag)), None)
        shown = (flag.name if flag and flag.name else None) or _flag(name)
        raise UsageError(f"{shown}: {err['msg']} (got {err.get('input')!r})") from None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _argument(name: str, field: FieldInfo, flag: Flag) -> dict[str, Any]:
    kind = _unwrap(field.annotation)
    kwargs: dict[str, Any] = {"dest": name, "default": None, "help": _help(field)}
    if flag.metavar:
        kwargs["metavar"] = flag.metavar
    if get_origin(kind) is list:
        kwargs["type"] = get_args(kind)[0]
        kwargs["action"] = flag.repeat or "append"
        if kwargs["action"] == "extend":
            kwargs["nargs"] = "+"
    elif get_origin(kind) is Literal:
        kwargs["choices"] = get_args(kind)
    else:
        kwargs["type"] = kind
    if flag.const is not None:
        kwargs |= {"nargs": "?", "const": flag.const}
    return kwargs


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _help(field: FieldInfo) -> str:
    text = field.description or ""
    if field.default not in (None, []):
        text += f" (default {field.default})"
    return text.replace("%", "%%")
