"""``/v1/similar/batch``: many item or vector questions in one request, each answered as its
single endpoint answers it, with the store's batched query where the answers allow one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from fastapi import APIRouter, Response

from app.api.answers import answers
from app.api.deps import ServiceDep
from app.api.errors import responses
from app.api.schemas import BatchAnswer, BatchQuery, QueryParams
from app.api.service import Served, Service
from app.queries import resolve
from infra.store import Hit, StoreError
from search.options import QueryOptions
from search.query import query_row, similar_to_items, similar_to_vectors

# Included by app/api/similar.py's router: its /v1/similar prefix and its key check.
router = APIRouter()


@router.post("/batch", response_model=BatchAnswer, responses=responses(400, 401, 404))
def similar_batch(body: BatchQuery, args: QueryParams, service: ServiceDep) -> Response:
    """The answers to many questions, in the request's order, each with the hits its single
    endpoint (``/v1/similar/items/{id}`` or ``/v1/similar/vector``) gives, the same query
    options applying to all.

    Either list is one batched store query; each item is left out of its own answer only. An
    unknown item id refuses the whole batch: a 404 naming it.
    A plain ``def``: a batch runs in a worker thread, so the event loop answers others meanwhile.
    """
    with service.serving() as served:
        opts = resolve(args, service.settings, served.meta)
        name = served.collection
        if body.vectors is not None:
            rows = rows_of(body.vectors)
            hits = service.run(lambda s: similar_to_vectors(s, name, rows, opts, meta=served.meta))
            return answers(served, hits)
        return answers(served, by_items(service, served, body.items or [], opts))


def rows_of(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    """The vectors as float32 rows, refused as ``/v1/similar/vector`` refuses one, naming which."""
    rows = []
    for i, vector in enumerate(vectors):
        if len(vector) != len(vectors[0]):
            raise StoreError(
                f"vector {i} has {len(vector)} values and vector 0 {len(vectors[0])}: send "
                "vectors of one size, the index's."
            )
        try:
            rows.append(query_row(np.asarray(vector, dtype=np.float64)))
        except StoreError as exc:
            raise StoreError(f"vector {i}: {exc}") from None
    return np.concatenate(rows)


def by_items(
    service: Service, served: Served, item_ids: Sequence[str], opts: QueryOptions
) -> list[list[Hit]]:
    """What :func:`search.query.similar_to_item` answers for each item, in one store call: the
    query by point ids, each item left out of its own answer only."""
    name, meta = served.collection, served.meta
    return service.run(lambda s: similar_to_items(s, name, item_ids, opts, meta))
