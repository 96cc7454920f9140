"""The commands that only read or re-point the store: ``similar``, ``recommend``, ``index ls``,
``index prune`` and ``promote``. They import neither torch nor Prefect, so they answer in well
under a second (a query by image loads its model, and so torch, when asked)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.console import print_hits, print_indexes
from app.flags import query_args_from
from app.queries import QueryService
from infra.locks import alias_lock
from infra.settings import Settings
from infra.store import open_store
from search.promotion import find_version, list_every_index, list_indexes, prune
from search.query import ByExamples, ByItem, Target

READ_COMMANDS = ("similar", "recommend", "promote", "index ls", "index prune")


def _query(args: argparse.Namespace, settings: Settings) -> None:
    # A query only reads: on the embedded store it shares the served collection with a
    # running API's workers (see infra/store/edge.py).
    with QueryService(settings) as service:
        hits = service.ask(target_of(args), query_args_from(args))
    print(f"items most like {_what(args)} in {settings.served_alias!r}:")
    print_hits(hits)


def _what(args: argparse.Namespace) -> str:
    if args.command == "recommend":
        return f"liked {', '.join(args.like)}"
    return str(args.image or args.item_id)


def target_of(args: argparse.Namespace) -> Target | Path:
    """What the command asks for: an item, examples, or a photo (a path, embedded by the
    service with the collection's model)."""
    if args.command == "recommend":
        return ByExamples(tuple(args.like), tuple(args.dislike), args.strategy)
    if args.image:
        return Path(args.image)
    return ByItem(args.item_id)


def run_read_command(args: argparse.Namespace, settings: Settings) -> None:
    if args.command in ("similar", "recommend"):
        _query(args, settings)
        return
    alias = settings.served_alias
    if args.command == "index" and args.index_command == "ls":
        with open_store(settings.store) as store:
            if names_a_dataset(settings):
                print_indexes({settings.dataset: list_indexes(store, alias, settings.dataset)})
            else:
                print_indexes(list_every_index(store), store.aliases())
        return
    with alias_lock(settings.lock_dir, alias), open_store(settings.store) as store:
        if args.command == "promote":
            collection = find_version(store, settings.dataset, args.version)
            store.set_alias(alias, collection)
            print(f"alias {alias} -> {collection}")
        else:
            gone = prune(store, alias, settings.dataset, args.keep)
            print(f"deleted {len(gone)} index(es): {', '.join(gone) or 'none'}")


def names_a_dataset(settings: Settings) -> bool:
    """Whether the user named a dataset or an alias (a flag, a variable, a catalog)."""
    return bool({"dataset", "alias"} & settings.model_fields_set)


def is_read_command(args: argparse.Namespace) -> bool:
    name = f"{args.command} {getattr(args, 'index_command', '')}".strip()
    return name in READ_COMMANDS
