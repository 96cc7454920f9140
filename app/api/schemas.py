"""What goes in and out of the API, as pydantic models (the OpenAPI at /docs comes from them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from infra.store.base import MAX_K


class QueryArgs(BaseModel):
    """The query options the command line has, as query-string parameters."""

    k: int = Field(default=10, ge=1, le=MAX_K, description="How many hits.")
    offset: int = Field(default=0, ge=0, le=MAX_K, description="Skip this many hits first.")
    score_threshold: float | None = Field(default=None, description="Drop hits scoring less.")
    label: list[str] | None = Field(default=None, description="Only these labels (repeatable).")
    not_label: list[str] | None = Field(default=None, description="Not these labels (repeatable).")
    split: str | None = Field(default=None, description="Only this split (train, test, catalog).")
    where: list[str] = Field(default=[], description="KEY=VALUE payload equality (repeatable).")
    range: list[str] = Field(default=[], description="KEY=MIN:MAX numeric range (repeatable).")
    max_per_label: int | None = Field(default=None, ge=1, description="Diversity: hits per label.")
    season: str | None = Field(default=None, description="Only this season ('current': today's).")
    boost_season: str | None = Field(default=None, description="Rank this season's items higher.")
    hnsw_ef: int | None = Field(
        default=None, ge=1, description="Search beam (speed against recall)."
    )
    dedup: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Collapse hits whose cosine to a better hit reaches this (0.97: copies).",
    )
    diversity: Literal["none", "mmr"] = Field(
        default="none", description="mmr: Qdrant's maximal marginal relevance re-rank."
    )
    mmr_lambda: float = Field(
        default=0.5, ge=0, le=1, description="MMR: relevance (1) against diversity (0)."
    )


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
    strategy: Literal["average_vector", "best_score", "centroid"] = "average_vector"


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
