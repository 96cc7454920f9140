"""The commands that only read or re-point the store: ``similar``, ``recommend``, ``index ls``,
``index prune`` and ``promote``. They import neither torch nor Prefect, so they answer in well
under a second (a query by image loads its model, and so torch, when asked)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.console import print_hits, print_indexes
from app.flags import query_args_from
from app.queries import Asked, Photo, QueryService, Region
from infra.errors import UserError
from infra.locks import alias_lock
from infra.settings import Settings
from infra.store import open_store
from search.metadata import read_meta
from search.promotion import find_version, list_every_index, list_indexes, prune
from search.query import ByExamples, ByItem

READ_COMMANDS = ("similar", "recommend", "explain", "promote", "index ls", "index prune")


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


def target_of(args: argparse.Namespace) -> Asked:
    """What the command asks for: an item, examples, a photo (a path, embedded by the service
    with the collection's model), or a region of either (``--box``)."""
    if args.command == "recommend":
        return ByExamples(tuple(args.like), tuple(args.dislike), args.strategy)
    box = None
    if getattr(args, "box", None):
        from model.images import Box  # torch comes with it: a region is embedded anyway

        box = Box.parse(args.box)
    if args.image:
        return Photo(image_file(args.image), box)
    return Region(args.item_id, box) if box else ByItem(args.item_id)


def _explain(args: argparse.Namespace, settings: Settings) -> None:
    from app.explain import explain
    from search.query import item_payloads

    wanted = 1 if args.image else 2
    if len(args.ids) != wanted:
        usage = "--image FILE OTHER" if args.image else "ITEM OTHER"
        raise UserError(f"explain takes {usage}: got {len(args.ids)} item id(s).")
    if args.image:
        image_file(args.image)
    with QueryService(settings) as service:
        meta = read_meta(service.store, service.name)
        payloads = item_payloads(service.store, service.name, args.ids)
        query = Path(args.image) if args.image else payloads[0]
        model = service.model_for(service.name)
        result = explain(model, meta, query, payloads[-1], args.method)
    first = Path(args.image).stem if args.image else args.ids[0]
    out = Path(args.out or f"{first}-vs-{args.ids[-1]}.png".replace("/", "_"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(result.png())
    print(f"{args.ids[-1]} against {args.image or args.ids[0]}: {result.summary()}")
    print(f"wrote {out} (query left, hit right; warm raises the score, cool lowers it)")


def image_file(path: str) -> Path:
    if not Path(path).is_file():
        raise UserError(f"no image file at {path}: pass an existing PNG or JPEG.")
    return Path(path)


def run_read_command(args: argparse.Namespace, settings: Settings) -> None:
    if args.command in ("similar", "recommend"):
        _query(args, settings)
        return
    if args.command == "explain":
        _explain(args, settings)
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
