"""The commands that only read or re-point the store: ``similar``, ``recommend``, ``index ls``,
``index prune`` and ``promote``. They import neither torch nor Prefect, so they answer in well
under a second (a query by image loads its model, and so torch, when asked)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Literal, Protocol

from app.console import print_hits, print_indexes
from app.queries import QueryService
from catalogs.base import typed
from catalogs.seasons import parse_season, season_of
from infra.errors import UserError
from infra.locks import alias_lock
from infra.settings import Settings
from infra.store import Condition, StoreBusyError, open_store
from search.promotion import find_version, list_indexes, prune
from search.query import Boost, QueryOptions

READ_COMMANDS = ("similar", "recommend", "promote", "index ls", "index prune")
API_FILE = "api.json"  # written by a running `lookalike api` in LOOKALIKE_HOME


class UsageError(UserError):
    """A flag's value the command cannot use."""


class QueryFlags(Protocol):
    """The query options, by the same names on the command line and in the HTTP API."""

    k: int
    offset: int
    score_threshold: float | None
    label: list[str] | None
    not_label: list[str] | None
    split: str | None
    where: list[str]
    range: list[str]
    max_per_label: int | None
    season: str | None
    boost_season: str | None
    hnsw_ef: int | None
    dedup: float | None
    diversity: Literal["none", "mmr"]
    mmr_lambda: float


def match_labels(requested: list[str], known: list[str]) -> tuple[str, ...]:
    """Match label names case-insensitively; unknown names fail with the list of known ones."""
    by_lower = {name.lower(): name for name in known}
    unknown = [r for r in requested if r.lower() not in by_lower]
    if unknown:
        raise UsageError(f"unknown label {unknown[0]!r}; known labels: {', '.join(known)}")
    return tuple(by_lower[r.lower()] for r in requested)


def _pair(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"{flag} wants KEY=VALUE, got {text!r}")
    return key, value


def _number(text: str, flag: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        raise UsageError(f"{flag} wants numbers as KEY=MIN:MAX, got {text!r}") from None


def conditions(args: QueryFlags, labels: list[str]) -> tuple[Condition, ...]:
    out: list[Condition] = []
    if args.label:
        out.append(Condition("label_name", any_of=match_labels(args.label, labels)))
    if args.not_label:
        out.append(Condition("label_name", none_of=match_labels(args.not_label, labels)))
    if args.split:
        out.append(Condition.equals("split", args.split))
    for text in args.where:
        key, value = _pair(text, "--where")
        out.append(Condition.equals(key, typed(value)))
    for text in args.range:
        key, value = _pair(text, "--range")
        low, _, high = value.partition(":")
        out.append(Condition(key, gte=_number(low, "--range"), lte=_number(high, "--range")))
    return tuple(out)


def _season(text: str, settings: Settings) -> str:
    try:
        if text.lower() == "current":
            return season_of(dt.date.today(), settings.serve.hemisphere)
        return parse_season(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def query_options(args: QueryFlags, settings: Settings, labels: list[str]) -> QueryOptions:
    where = conditions(args, labels)
    if args.season:
        where += (Condition.equals("season", _season(args.season, settings)),)
    boost = None
    if args.boost_season:
        boost = Boost(
            "season", (_season(args.boost_season, settings),), settings.serve.season_boost
        )
    return QueryOptions(
        boost=boost,
        k=args.k,
        where=where,
        offset=args.offset,
        score_threshold=args.score_threshold,
        max_per_label=args.max_per_label,
        hnsw_ef=args.hnsw_ef,
        dedup=args.dedup,
        diversity=args.diversity,
        mmr_lambda=args.mmr_lambda,
    )


def _query(args: argparse.Namespace, settings: Settings) -> None:
    try:
        _query_store(args, settings)
    except StoreBusyError:
        from app.remote import query_api

        # The embedded store is held by one process: a running API answers for it.
        hits = query_api(args, settings, settings.home / API_FILE)
        print(f"items most like {_what(args)} in {settings.served_alias!r} (via the API):")
        print_hits(hits)


def _what(args: argparse.Namespace) -> str:
    if args.command == "recommend":
        return f"liked {', '.join(args.like)}"
    return str(args.image or args.item_id)


def _query_store(args: argparse.Namespace, settings: Settings) -> None:
    with QueryService(settings) as service:
        opts = query_options(args, settings, service.labels())
        if args.command == "recommend":
            hits = service.recommend(args.like, args.dislike, args.strategy, opts)
        elif args.image:
            from pathlib import Path

            hits = service.similar_image(Path(args.image), opts)
        else:
            hits = service.similar_item(args.item_id, opts)
    print(f"items most like {_what(args)} in {settings.served_alias!r}:")
    print_hits(hits)


def run_read_command(args: argparse.Namespace, settings: Settings) -> None:
    if args.command in ("similar", "recommend"):
        _query(args, settings)
        return
    alias = settings.served_alias
    if args.command == "index" and args.index_command == "ls":
        with open_store(settings.store) as store:
            print_indexes(list_indexes(store, alias, settings.dataset))
        return
    with alias_lock(settings.lock_dir, alias), open_store(settings.store) as store:
        if args.command == "promote":
            collection = find_version(store, settings.dataset, args.version)
            store.set_alias(alias, collection)
            print(f"alias {alias} -> {collection}")
        else:
            gone = prune(store, alias, settings.dataset, args.keep)
            print(f"deleted {len(gone)} index(es): {', '.join(gone) or 'none'}")


def is_read_command(args: argparse.Namespace) -> bool:
    name = f"{args.command} {getattr(args, 'index_command', '')}".strip()
    return name in READ_COMMANDS
