"""The command line's queries over HTTP, for when a running `lookalike api` holds the embedded
store (one process may open a collection at a time)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from infra.errors import UserError
from infra.settings import Settings
from infra.store import Hit
from search.query import ByExamples, ByItem, Target
from search.request import QueryArgs


def _running(found: Path) -> str | None:
    """The URL a live API wrote, or None."""
    try:
        info = json.loads(found.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return str(info["url"])


def query_api(target: Target | Path, args: QueryArgs, settings: Settings, found: Path) -> list[Hit]:
    """Ask the running API what :meth:`app.queries.QueryService.ask` would answer."""
    url = _running(found)
    if url is None:
        raise UserError(
            "another process holds the embedded index open: stop it, or run `lookalike api` "
            "and query it over HTTP, or use a Qdrant server (LOOKALIKE_QDRANT_URL)."
        )
    params = args.model_dump(exclude_defaults=True)
    key = settings.serve.api_key
    headers = {"X-API-Key": key.get_secret_value()} if key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        if isinstance(target, ByExamples):
            body = {"like": target.like, "dislike": target.dislike, "strategy": target.strategy}
            r = client.post("/v1/recommend", params=params, json=body)
        elif isinstance(target, Path):
            files = {"file": (target.name, target.read_bytes())}
            r = client.post("/v1/similar/image", params=params, files=files)
        elif isinstance(target, ByItem):
            r = client.get(f"/v1/similar/items/{target.item_id}", params=params)
        else:
            body = {"vector": target.vector.tolist()}
            r = client.post("/v1/similar/vector", params=params, json=body)
    answer: dict[str, Any] = r.json()
    if r.status_code != 200:
        raise UserError(f"{answer.get('error', r.text)} (from the API at {url})")
    return [Hit(h["item_id"], h["score"], h["payload"]) for h in answer["hits"]]
