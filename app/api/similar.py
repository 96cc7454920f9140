"""``/v1/similar``: the items most like a stored item, a raw vector, or an uploaded photo."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Depends, File, Request, Response, UploadFile

from app.api import batch
from app.api.answers import respond, respond_photo
from app.api.deps import ServiceDep, require_key
from app.api.errors import TooLargeError, responses
from app.api.schemas import Answer, QueryParams, RegionParams, VectorQuery
from app.queries import Photo, Region
from model.images import Box, ImageError
from search.query import ByItem, ByVector

router = APIRouter(prefix="/v1/similar", tags=["similar"], dependencies=[Depends(require_key)])


@router.get("/items/{item_id:path}", response_model=Answer, responses=responses(400, 401, 404, 503))
async def similar_item(item_id: str, args: RegionParams, service: ServiceDep) -> Response:
    """The items most like ``item_id`` (the item itself excluded); with ``box``, like that
    region of its picture, embedded by the index's model in the photo pool."""
    if args.box is None:
        return respond(service, args, ByItem(item_id))
    return await respond_photo(service, args, Region(item_id, Box.parse(args.box)))


@router.post("/vector", response_model=Answer, responses=responses(400, 401))
async def similar_vector(body: VectorQuery, args: QueryParams, service: ServiceDep) -> Response:
    """Items nearest to a raw vector of the index's size (cosine)."""
    return respond(service, args, ByVector(np.asarray(body.vector, dtype=np.float64)))


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


@router.post("/image", response_model=Answer, responses=responses(400, 401, 413, 415, 503))
async def similar_image(
    request: Request,
    args: RegionParams,
    service: ServiceDep,
    file: UploadFile = File(description="A PNG, JPEG or WebP image."),  # noqa: B008
) -> Response:
    """Items like an uploaded photo (or a region of it, ``box``), embedded with the model that
    built the served index, in a bounded pool of its own: 503 with Retry-After when more photos
    wait than it takes."""
    region = Box.parse(args.box) if args.box is not None else None  # before the upload is read
    data = await upload(request, file, service.settings.serve.max_upload_mb)
    return await respond_photo(service, args, Photo(data, region))


# /v1/similar/batch: a module of its own, under this prefix and key check.
router.include_router(batch.router)
