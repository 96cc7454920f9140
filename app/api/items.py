"""Items, their images, the collections, and the service's health."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from PIL import Image

from app.api.deps import ServiceDep, require_key
from app.api.schemas import CollectionOut, Collections, Item
from catalogs.scan import stored_thumbnail
from infra.store import StoreError
from search.promotion import list_indexes
from search.query import resolve_items

THUMB = 112

router = APIRouter(prefix="/v1", tags=["items"], dependencies=[Depends(require_key)])
health = APIRouter(tags=["health"])


def _payload(service: ServiceDep, collection: str, item_id: str) -> dict[str, Any]:
    def find(store: Any) -> dict[str, Any]:
        pid = resolve_items(store, collection, [item_id])[0]
        return dict(store.payloads(collection, [pid])[pid])

    return service.run(find)


@router.get("/items/{item_id:path}", response_model=Item)
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


@router.get("/images/{item_id:path}", response_class=Response)
def image(item_id: str, service: ServiceDep) -> Response:
    """The item's image as a PNG thumbnail: a Fashion-MNIST item enlarged without blur, a
    catalog item read from the catalog's own folder (and nowhere else)."""
    with service.serving() as served:
        payload = _payload(service, served.collection, item_id)
    png = io.BytesIO()
    Image.fromarray(stored_thumbnail(served.metadata, payload, THUMB)).save(png, "PNG")
    headers = {**served.headers(), "Cache-Control": "max-age=3600"}
    return Response(png.getvalue(), media_type="image/png", headers=headers)


@router.get("/collections", response_model=Collections)
def collections(service: ServiceDep) -> Collections:
    """Every versioned index of the dataset with its metrics, and which one the alias serves."""
    infos = service.run(lambda s: list_indexes(s, service.alias, service.settings.dataset))
    out = [
        CollectionOut(
            collection=i.collection,
            served=i.served,
            points=i.points,
            model_version=i.model_version,
            created_at=i.metadata.get("created_at"),
            derived_from=i.derived_from,
            metrics=dict(i.metadata.get("metrics") or {}),
        )
        for i in infos
    ]
    served = next((i.collection for i in infos if i.served), None)
    return Collections(alias=service.alias, served=served, collections=out)


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(service: ServiceDep) -> Response:
    """Prometheus' text format: requests, latency, and what the alias serves."""
    try:
        s = service.served()
        service.metrics.show(service.alias, s.collection, s.model_version, s.points)
    except StoreError:
        service.metrics.served.clear()
    return service.metrics.render()


@health.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (no key needed)."""
    return {"status": "ok"}


@health.get("/readyz", dependencies=[Depends(require_key)], response_model=None)
def readyz(service: ServiceDep) -> dict[str, Any] | JSONResponse:
    """An index is loaded and answering."""
    try:
        served = service.served()
        points = service.run(lambda s: s.count(served.collection))
    except StoreError as exc:
        return JSONResponse({"status": "not ready", "error": str(exc)}, 503)
    return {"status": "ready", "collection": served.collection, "points": points}
