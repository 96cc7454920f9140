"""What goes in and out of the API, as pydantic models (the OpenAPI at /docs comes from them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from search.query import Strategy
from search.request import QueryArgs

# The query options, one definition (search/request.py), as query-string parameters.
QueryParams = Annotated[QueryArgs, Query()]


class HitOut(BaseModel):
    item_id: str | None
    score: float
    payload: dict[str, Any]


class Answer(BaseModel):
    """Hits, and which index answered (also in the X-Lookalike-* headers)."""

    collection: str
    model_version: str
    points: int
    hits: list[HitOut]


class VectorQuery(BaseModel):
    vector: list[float] = Field(min_length=1, description="A query vector of the index's size.")


class Recommendation(BaseModel):
    like: list[str] = Field(min_length=1, description="Item ids the user liked.")
    dislike: list[str] = Field(default=[], description="Item ids the user did not like.")
    strategy: Strategy = "average_vector"


class Item(BaseModel):
    collection: str
    model_version: str
    item_id: str
    payload: dict[str, Any]


class CollectionOut(BaseModel):
    collection: str
    served: bool
    points: int | None = Field(description="None while the collection is being written")
    model_version: str
    created_at: str | None
    derived_from: str | None = Field(
        description="the revision this one was copied from, its vectors reused"
    )
    metrics: dict[str, float]


class Collections(BaseModel):
    alias: str
    served: str | None
    collections: list[CollectionOut]


class Problem(BaseModel):
    """Every error: what went wrong and how to fix it."""

    error: str
    status: int
