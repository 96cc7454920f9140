"""The command line's queries over HTTP, for when a running `lookalike api` holds the embedded
store (one process may open a collection at a time)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import httpx

from infra.errors import UserError
from infra.settings import Settings
from infra.store import Hit

FLAGS: tuple[str, ...] = ("k", "offset", "score_threshold", "label", "not_label", "split")
FLAGS += ("where", "range", "max_per_label", "season", "boost_season", "hnsw_ef")


def _running(found: Path) -> str | None:
    """The URL a live API wrote, or None."""
    try:
        info = json.loads(found.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return str(info["url"])


def query_api(args: argparse.Namespace, settings: Settings, found: Path) -> list[Hit]:
    url = _running(found)
    if url is None:
        raise UserError(
            "another process holds the embedded index open: stop it, or run `lookalike api` "
            "and query it over HTTP, or use a Qdrant server (LOOKALIKE_QDRANT_URL)."
        )
    params = {f: getattr(args, f) for f in FLAGS if getattr(args, f) not in (None, [])}
    key = settings.serve.api_key
    headers = {"X-API-Key": key.get_secret_value()} if key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        if args.command == "recommend":
            body = {"like": args.like, "dislike": args.dislike, "strategy": args.strategy}
            r = client.post("/v1/recommend", params=params, json=body)
        elif args.image:
            files = {"file": (Path(args.image).name, Path(args.image).read_bytes())}
            r = client.post("/v1/similar/image", params=params, files=files)
        else:
            r = client.get(f"/v1/similar/items/{args.item_id}", params=params)
    answer: dict[str, Any] = r.json()
    if r.status_code != 200:
        raise UserError(f"{answer.get('error', r.text)} (from the API at {url})")
    return [Hit(h["item_id"], h["score"], h["payload"]) for h in answer["hits"]]
