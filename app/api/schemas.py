"""What goes in and out of the API, as pydantic models (the OpenAPI at /docs comes from them)."""

from __future__ import annotations

from typing import Annotated, Any, Self

from fastapi import Query
from pydantic import BaseModel, Field, model_validator

from search.metadata import WeakFilter
from search.query import Strategy
from search.request import QueryArgs

# The query options, one definition (search/request.py), as query-string parameters.
QueryParams = Annotated[QueryArgs, Query()]


class RegionArgs(QueryArgs):
    """The options of a query whose target has a picture: a region of it may be searched."""

    box: str | None = Field(
        default=None,
        description="Search with a region of the image: x0,y0,x1,y1 as fractions of its width "
        "and height, e.g. 0,0,0.5,1 (its left half).",
    )


RegionParams = Annotated[RegionArgs, Query()]


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


MAX_BATCH = 100  # questions in one batch request; more is a 422 naming the limit


class BatchQuery(BaseModel):
    """Many questions in one request: stored items, or raw vectors; exactly one of the two."""

    items: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_BATCH,
        description=f"Item ids, each answered as /v1/similar/items/{{id}} (at most {MAX_BATCH}).",
    )
    vectors: list[Annotated[list[float], Field(min_length=1)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_BATCH,
        description=f"Vectors of the index's size, each answered as /v1/similar/vector "
        f"(at most {MAX_BATCH}).",
    )

    @model_validator(mode="after")
    def one_kind(self) -> Self:
        if (self.items is None) == (self.vectors is None):
            raise ValueError("send exactly one of items (item ids) or vectors")
        return self


class Hits(BaseModel):
    hits: list[HitOut]


class BatchAnswer(BaseModel):
    """One answer per question, in the request's order, from one index."""

    collection: str
    model_version: str
    points: int
    answers: list[Hits]


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
    weak_filters: dict[str, dict[str, WeakFilter]] = Field(
        default={},
        description="Filter values the graph answered under recall@10 0.99 when the collection "
        "was built, by field and value: queries filtered by them walk with the beam given, or "
        "scan exactly where it is null.",
    )


class Collections(BaseModel):
    alias: str
    served: str | None
    collections: list[CollectionOut]


class Problem(BaseModel):
    """Every error: what went wrong and how to fix it."""

    error: str
    status: int


class MapSide(BaseModel):
    item_id: str | None = Field(description="None for an uploaded photo")
    map: list[list[float]] = Field(description="Each region's part of the score, row by row")
    top_share: float = Field(description="The part of the map's total its top regions carry")


class Explanation(BaseModel):
    """Why a pair scores what it does: for each image, each region's part of the score."""

    collection: str
    model_version: str
    method: str = Field(description="exact: the maps sum to the score; gradient: an estimate")
    score: float
    grid: list[int] = Field(description="[rows, columns] of the maps")
    top_fraction: float = Field(description="The fraction of regions top_share counts")
    query: MapSide
    hit: MapSide
    overlay: str = Field(description="Both images with their maps over them, a PNG data URL")
