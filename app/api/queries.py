"""Similarity queries: by item, by uploaded image, by vector, and recommendations."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import orjson
from fastapi import APIRouter, Depends, File, Request, Response, UploadFile

from app.api.deps import ServiceDep, options, require_key
from app.api.errors import TooLargeError
from app.api.schemas import (
    Answer,
    QueryArgs,
    QueryParams,
    Recommendation,
    VectorQuery,
)
from app.api.service import Served, Service
from app.queries import embed
from infra.store import Hit, VectorStore
from model.images import ImageError
from search.query import QueryOptions, recommend, similar_to_item, similar_to_vector

router = APIRouter(prefix="/v1", tags=["queries"], dependencies=[Depends(require_key)])


def answer(served: Served, hits: Sequence[Hit]) -> Response:
    """The :class:`Answer`, serialised directly: validating our own output cost more than the
    query itself."""
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


Query = Callable[[VectorStore, str, QueryOptions], list[Hit]]


def respond(service: Service, args: QueryArgs, query: Query) -> Response:
    """Run ``query(store, collection, options)`` on the collection the alias serves now.

    The store-only queries take well under a millisecond, so they run on the event loop
    rather than hopping to a worker thread."""
    with service.serving() as served:
        opts = options(args, service, served.metadata)
        hits = service.run(lambda s: query(s, served.collection, opts))
        return answer(served, hits)


@router.get("/similar/items/{item_id:path}", response_model=Answer)
async def similar_item(item_id: str, args: QueryParams, service: ServiceDep) -> Response:
    """The items most like ``item_id`` (the item itself excluded)."""
    return respond(service, args, lambda s, c, o: similar_to_item(s, c, item_id, o))


async def upload(request: Request, file: UploadFile, limit_mb: float) -> bytes:
    limit = int(limit_mb * 1024 * 1024)
    if int(request.headers.get("content-length") or 0) > limit + 64 * 1024:
        raise TooLargeError(f"the upload is larger than {limit_mb:g} MB: send a smaller image.")
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"the image is larger than {limit_mb:g} MB: send a smaller one.")
    if not data:
        raise ImageError("the image is empty (0 bytes): send a PNG, JPEG or WebP file.")
    return data


@router.post("/similar/image", response_model=Answer)
async def similar_image(
    request: Request,
    args: QueryParams,
    service: ServiceDep,
    file: UploadFile = File(description="A PNG, JPEG or WebP image."),  # noqa: B008
) -> Response:
    """Items like an uploaded photo, embedded with the model that built the served index."""
    data = await upload(request, file, service.settings.serve.max_upload_mb)
    return answer(*image_hits(service, data, args))


def image_hits(service: Service, data: bytes, args: QueryArgs) -> tuple[Served, list[Hit]]:
    """The hits for an image, embedded with the model that built the served collection."""
    with service.serving() as served:
        opts = options(args, service, served.metadata)
        model = service.run(lambda s: service.queries.model_for(served.collection))
        kind = served.metadata.get("kind")
        vector = embed(model, None if kind is None else str(kind), data)
        hits = service.run(lambda s: similar_to_vector(s, served.collection, vector, opts))
        return served, hits


@router.post("/similar/vector", response_model=Answer)
async def similar_vector(body: VectorQuery, args: QueryParams, service: ServiceDep) -> Response:
    """Items nearest to a raw vector of the index's size (cosine)."""
    vector = np.asarray(body.vector, dtype=np.float32)
    return respond(service, args, lambda s, c, o: similar_to_vector(s, c, vector, o))


@router.post("/recommend", response_model=Answer)
async def recommend_items(body: Recommendation, args: QueryParams, service: ServiceDep) -> Response:
    """Items like the liked ones and unlike the disliked ones, the examples excluded."""
    like, dislike, strategy = body.like, body.dislike, body.strategy
    return respond(service, args, lambda s, c, o: recommend(s, c, like, dislike, strategy, o))
