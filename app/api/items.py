"""``/v1/items`` and ``/v1/images``: an item's payload and its picture."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Response
from PIL import Image

from app.api.deps import ServiceDep, require_key
from app.api.errors import responses
from app.api.schemas import Item
from catalogs.scan import stored_thumbnail
from infra.store import VectorStore
from search.query import resolve_items

THUMB = 112

router = APIRouter(prefix="/v1", tags=["items"], dependencies=[Depends(require_key)])


def _payload(service: ServiceDep, collection: str, item_id: str) -> dict[str, Any]:
    def find(store: VectorStore) -> dict[str, Any]:
        pid = resolve_items(store, collection, [item_id])[0]
        return dict(store.payloads(collection, [pid])[pid])

    return service.run(find)


@router.get("/items/{item_id:path}", response_model=Item, responses=responses(400, 401, 404))
def item(item_id: str, response: Response, service: ServiceDep) -> Item:
    """An item's payload: id, split, label, file and every attribute."""
    with service.serving() as served:
        response.headers.update(served.headers())
        payload = _payload(service, served.collection, item_id)
    return Item(
        collection=served.collection,
        model_version=served.model_version,
        item_id=item_id,
        payload=payload,
    )


@router.get(
    "/images/{item_id:path}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **responses(400, 401, 404)},
)
def image(item_id: str, service: ServiceDep) -> Response:
    """The item's image as a PNG thumbnail: a Fashion-MNIST item enlarged without blur, a
    catalog item read from the catalog's own folder (and nowhere else)."""
    with service.serving() as served:
        payload = _payload(service, served.collection, item_id)
    png = io.BytesIO()
    Image.fromarray(stored_thumbnail(served.meta.kind, served.meta.root, payload, THUMB)).save(
        png, "PNG"
    )
    headers = {**served.headers(), "Cache-Control": "max-age=3600"}
    return Response(png.getvalue(), media_type="image/png", headers=headers)
