"""``/v1/explain``: why a hit looks like its query, as a similarity map for each image.

The item ids are looked up under the store's lock; the maps are computed with the model that
built the served collection in the photo pool, as a photo query's embedding is (bounded: a full
pool answers 503)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Literal

import orjson
from fastapi import APIRouter, Depends, File, Request, Response, UploadFile

from app.api.deps import ServiceDep, require_key
from app.api.errors import responses
from app.api.schemas import Explanation as ExplanationOut
from app.api.service import Served, Service
from app.api.similar import upload
from app.explain import Explanation, explain, find_pair
from model.explain import Method
from search.query import item_payloads

if TYPE_CHECKING:
    from model.backbones import Embedder

router = APIRouter(prefix="/v1/explain", tags=["explain"], dependencies=[Depends(require_key)])
Format = Literal["json", "png"]
PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, "image/png": {}}}}


@router.post(
    "/image/{other_id:path}",
    response_model=ExplanationOut,
    responses={**PNG, **responses(400, 401, 404, 413, 415, 503)},
)
async def explain_image(
    request: Request,
    other_id: str,
    service: ServiceDep,
    method: Method = "exact",
    format: Format = "json",
    file: UploadFile = File(description="A PNG, JPEG or WebP image."),  # noqa: B008
) -> Response:
    """Why the stored ``other_id`` looks like an uploaded photo (its limits: as photo queries)."""
    data = await upload(request, file, service.settings.serve.max_upload_mb)
    with service.serving() as served:
        (hit,) = service.run(lambda s: item_payloads(s, served.collection, [other_id]))
        result = await _maps(service, served, data, hit, method)
    return _answer(served, result, format)


@router.get(
    "/{item_id}/{other_id}",
    response_model=ExplanationOut,
    responses={**PNG, **responses(400, 401, 404, 503)},
    # The route below takes ids holding slashes; this one is what the docs show.
)
async def explain_items(
    item_id: str,
    other_id: str,
    service: ServiceDep,
    method: Method = "exact",
    format: Format = "json",
) -> Response:
    """Why ``other_id`` looks like ``item_id``: both maps, the score, the PNG overlay
    (``format=png``: the PNG alone)."""
    return await _explain_pair(service, f"{item_id}/{other_id}", method, format)


@router.get("/{pair:path}", include_in_schema=False)
async def explain_path(
    pair: str, service: ServiceDep, method: Method = "exact", format: Format = "json"
) -> Response:
    return await _explain_pair(service, pair, method, format)


async def _explain_pair(service: Service, pair: str, method: Method, format: Format) -> Response:
    with service.serving() as served:
        _, _, query, hit = service.run(lambda s: find_pair(s, served.collection, pair))
        result = await _maps(service, served, query, hit, method)
    return _answer(served, result, format)


async def _maps(
    service: Service,
    served: Served,
    query: dict[str, Any] | bytes,
    hit: dict[str, Any],
    method: Method,
) -> tuple[Explanation, bytes]:
    def work(model: Embedder) -> tuple[Explanation, bytes]:
        done = explain(model, served.meta, query, hit, method)
        return done, done.png()  # drawn in the pool too: it is model-sized work

    return await service.with_model(served, work)


def _answer(served: Served, result: tuple[Explanation, bytes], format: Format) -> Response:
    explanation, png = result
    if format == "png":
        return Response(png, media_type="image/png", headers=served.headers())
    body = {
        "collection": served.collection,
        "model_version": served.model_version,
        **explanation.body(),
        "overlay": "data:image/png;base64," + base64.b64encode(png).decode(),
    }
    return Response(orjson.dumps(body), media_type="application/json", headers=served.headers())
