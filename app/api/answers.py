"""How every query route answers: the consumer's options resolved against the collection the
alias serves now, the one query path (:func:`search.query.ask`), the hits serialised once."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from fastapi import Response

from app.api.service import Served, Service
from app.queries import embed, resolve
from infra.store import Hit
from search.query import ByVector, Target, ask
from search.request import QueryArgs


def answer(served: Served, hits: Sequence[Hit]) -> Response:
    """The :class:`app.api.schemas.Answer`, serialised directly: validating our own output cost
    more than the query itself."""
    body = {
        "collection": served.collection,
        "model_version": served.model_version,
        "points": served.points,
        "hits": [
            {"item_id": h.payload.get("item_id"), "score": h.score, "payload": h.payload}
            for h in hits
        ],
    }
    return Response(orjson.dumps(body), media_type="application/json", headers=served.headers())


def respond(service: Service, args: QueryArgs, target: Target | bytes) -> Response:
    """Answer ``target`` from the collection the alias serves now (a photo's bytes are embedded
    with the model that built it, outside the store's lock).

    The store-only queries take well under a millisecond, so they run on the event loop rather
    than hopping to a worker thread."""
    return answer(*hits_for(service, args, target))


def hits_for(service: Service, args: QueryArgs, target: Target | bytes) -> tuple[Served, list[Hit]]:
    with service.serving() as served:
        opts = resolve(args, service.settings, served.meta)
        if isinstance(target, bytes):
            model = service.run(lambda s: service.queries.model_for(served.collection))
            target = ByVector(embed(model, served.meta.kind, target))
        query = target
        return served, service.run(lambda s: ask(s, served.collection, query, opts))
