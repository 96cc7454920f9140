"""How every query route answers: the consumer's options resolved against the collection the
alias serves now, the one query path (:func:`search.query.ask`), the hits serialised once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import Response

from app.api.service import Served, Service
from app.queries import Asked, Photo, Region, embed_target, image_source, leaving_out, resolve
from infra.store import Hit
from search.query import ByVector, Target, ask
from search.request import QueryArgs


def answer(served: Served, hits: Sequence[Hit]) -> Response:
    """The :class:`app.api.schemas.Answer`, serialised directly: validating our own output cost
    more than the query itself."""
    return _json(served, hits=hits_out(hits))


def answers(served: Served, batches: Sequence[Sequence[Hit]]) -> Response:
    """The :class:`app.api.schemas.BatchAnswer`: one ``{"hits": ...}`` per question, in order,
    each hit as :func:`answer` writes it."""
    return _json(served, answers=[{"hits": hits_out(hits)} for hits in batches])


def hits_out(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    return [
        {"item_id": h.payload.get("item_id"), "score": h.score, "payload": h.payload} for h in hits
    ]


def _json(served: Served, **rest: object) -> Response:
    body = {
        "collection": served.collection,
        "model_version": served.model_version,
        "points": served.points,
        **rest,
    }
    return Response(orjson.dumps(body), media_type="application/json", headers=served.headers())


def respond(service: Service, args: QueryArgs, target: Target) -> Response:
    """Answer a store-only ``target`` from the collection the alias serves now.

    These queries take well under a millisecond, so they run on the event loop rather than
    hopping to a worker thread."""
    with service.serving() as served:
        opts = resolve(args, service.settings, served.meta)
        hits = service.run(lambda s: ask(s, served.collection, target, opts, served.meta))
        return answer(served, hits)


async def respond_photo(service: Service, args: QueryArgs, target: Photo | Region) -> Response:
    """Answer a photo or a region: see :func:`hits_for`."""
    return answer(*await hits_for(service, args, target))


async def hits_for(service: Service, args: QueryArgs, target: Asked) -> tuple[Served, list[Hit]]:
    """The hits for ``target``; a photo (or a region of a stored item's picture) is decoded and
    embedded with the model that built the served index in the service's photo pool, so
    neither the event loop nor the store's lock waits for the model (a full pool answers 503).
    The options are resolved first: a bad one costs no model run."""
    with service.serving() as served:
        opts = resolve(args, service.settings, served.meta)
        query: Target
        if isinstance(target, Photo | Region):
            asked = target
            source = service.run(lambda s: image_source(s, served.collection, asked))
            vector = await service.with_model(
                served, lambda model: embed_target(model, served.meta, asked, source)
            )
            query, opts = ByVector(vector), leaving_out(opts, source, served.meta)
        else:
            query = target
        return served, service.run(lambda s: ask(s, served.collection, query, opts, served.meta))
