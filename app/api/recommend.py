"""``/v1/recommend``: items like the ones a user liked and unlike the ones they did not."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from app.api.answers import respond
from app.api.deps import ServiceDep, require_key
from app.api.errors import responses
from app.api.schemas import Answer, QueryParams, Recommendation
from search.query import ByExamples

router = APIRouter(prefix="/v1", tags=["recommend"], dependencies=[Depends(require_key)])


@router.post("/recommend", response_model=Answer, responses=responses(400, 401, 404))
async def recommend_items(body: Recommendation, args: QueryParams, service: ServiceDep) -> Response:
    """Items like the liked ones and unlike the disliked ones, the examples excluded."""
    target = ByExamples(tuple(body.like), tuple(body.dislike), body.strategy)
    return respond(service, args, target)
