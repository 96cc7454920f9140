"""``/v1/collections``: every versioned index of the dataset, and which one the alias serves."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.deps import ServiceDep, require_key
from app.api.errors import responses
from app.api.schemas import CollectionOut, Collections
from search.promotion import list_indexes

router = APIRouter(prefix="/v1", tags=["collections"], dependencies=[Depends(require_key)])


@router.get("/collections", response_model=Collections, responses=responses(400, 401))
def collections(service: ServiceDep) -> Collections:
    """Every versioned index of the dataset with its metrics, and which one the alias serves."""
    infos = service.run(lambda s: list_indexes(s, service.alias, service.settings.dataset))
    out = [
        CollectionOut(
            collection=i.collection,
            served=i.served,
            points=i.points,
            model_version=i.meta.model_version or "?",
            created_at=i.meta.created_at,
            derived_from=i.meta.derived_from,
            metrics=i.meta.metrics,
            weak_filters=i.meta.weak_filters,
        )
        for i in infos
    ]
    served = next((i.collection for i in infos if i.served), None)
    return Collections(alias=service.alias, served=served, collections=out)
