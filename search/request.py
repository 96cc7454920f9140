"""A query's options as consumers give them, defined once.

:class:`QueryArgs` is the one definition: the HTTP API takes it as query-string parameters
(FastAPI's query-parameter model), the command line's flags are made from its fields
(``app/query_flags.py``), and the gallery's address extends it. Each field's name, type, default,
range and help are written here; :meth:`QueryArgs.options` turns the consumer's words (label
names, seasons, ``KEY=VALUE``) into the store-level :class:`search.options.QueryOptions`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from catalogs.base import typed
from catalogs.seasons import Hemisphere, parse_season, season_of
from infra.errors import UserError
from infra.store.base import MAX_K, Condition
from search.options import Boost, QueryOptions


class UsageError(UserError):
    """An option's value the query cannot use."""


@dataclass(frozen=True)
class Flag:
    """How a field reads on the command line, where that differs from ``--field-name VALUE``."""

    name: str | None = None  # the flag itself, e.g. "-k"
    metavar: str | None = None
    repeat: Literal["append", "extend"] | None = None  # lists: --x A --x B, or --x A B
    const: float | None = None  # the value of the bare flag (``--dedup`` alone)


class QueryArgs(BaseModel):
    """What every query accepts, on every surface."""

    k: Annotated[int, Flag("-k")] = Field(default=10, ge=1, le=MAX_K, description="How many hits.")
    offset: int = Field(default=0, ge=0, le=MAX_K, description="Skip this many hits first.")
    score_threshold: float | None = Field(default=None, description="Drop hits scoring less.")
    label: Annotated[list[str], Flag(metavar="NAME", repeat="extend")] = Field(
        default=[], description="Only these labels (repeatable)."
    )
    not_label: Annotated[list[str], Flag(metavar="NAME", repeat="extend")] = Field(
        default=[], description="Not these labels (repeatable)."
    )
    split: str | None = Field(default=None, description="Only this split (train, test, catalog).")
    where: Annotated[list[str], Flag(metavar="KEY=VALUE", repeat="append")] = Field(
        default=[], description="Payload equality, KEY=VALUE (repeatable)."
    )
    range: Annotated[list[str], Flag(metavar="KEY=MIN:MAX", repeat="append")] = Field(
        default=[], description="Numeric range, KEY=MIN:MAX, either end open (repeatable)."
    )
    max_per_label: int | None = Field(
        default=None, ge=1, description="Diversity: at most this many hits per label."
    )
    season: Annotated[str | None, Flag(metavar="NAME")] = Field(
        default=None, description="Only this season ('current': today's)."
    )
    boost_season: Annotated[str | None, Flag(metavar="NAME")] = Field(
        default=None,
        description="Rank this season's items higher by the season-boost setting "
        "('current': today's).",
    )
    hnsw_ef: int | None = Field(
        default=None, ge=1, description="Search beam for this query (speed against recall)."
    )
    dedup: Annotated[float | None, Flag(metavar="THRESHOLD", const=0.97)] = Field(
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

    @field_validator("label", "not_label", "where", "range", mode="after")
    @classmethod
    def _no_blanks(cls, values: list[str]) -> list[str]:
        # A form's empty select or text box sends "": it means "not given".
        return [v for v in values if v]

    @field_validator("split", "season", "boost_season", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def options(
        self,
        labels: Sequence[str],
        hemisphere: Hemisphere = "north",
        season_boost: float = 0.05,
        today: dt.date | None = None,
    ) -> QueryOptions:
        """The store-level options: label names matched to the collection's ``labels``, seasons
        resolved (``current`` in ``hemisphere`` on ``today``)."""
        day = today or dt.date.today()
        where = self.conditions(labels)
        if self.season:
            where += (Condition.equals("season", _season(self.season, hemisphere, day)),)
        boost = None
        if self.boost_season:
            boost = Boost("season", (_season(self.boost_season, hemisphere, day),), season_boost)
        return QueryOptions(
            k=self.k,
            where=where,
            offset=self.offset,
            score_threshold=self.score_threshold,
            max_per_label=self.max_per_label,
            boost=boost,
            hnsw_ef=self.hnsw_ef,
            dedup=self.dedup,
            diversity=self.diversity,
            mmr_lambda=self.mmr_lambda,
        )

    def conditions(self, labels: Sequence[str]) -> tuple[Condition, ...]:
        """The payload filter the options spell (seasons aside)."""
        out: list[Condition] = []
        if self.label:
            out.append(Condition("label_name", any_of=match_labels(self.label, labels)))
        if self.not_label:
            out.append(Condition("label_name", none_of=match_labels(self.not_label, labels)))
        if self.split:
            out.append(Condition.equals("split", self.split))
        for text in self.where:
            key, value = _pair(text, "where")
            out.append(Condition.equals(key, typed(value)))
        for text in self.range:
            key, value = _pair(text, "range")
            low, _, high = value.partition(":")
            out.append(Condition(key, gte=_number(low, "range"), lte=_number(high, "range")))
        return tuple(out)


def match_labels(requested: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    """Match label names case-insensitively; unknown names fail with the list of known ones."""
    by_lower = {name.lower(): name for name in known}
    unknown = [r for r in requested if r.lower() not in by_lower]
    if unknown:
        raise UsageError(f"unknown label {unknown[0]!r}; known labels: {', '.join(known)}")
    return tuple(by_lower[r.lower()] for r in requested)


def _pair(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"{option} wants KEY=VALUE, got {text!r}")
    return key, value


def _number(text: str, option: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        raise UsageError(f"{option} wants numbers as KEY=MIN:MAX, got {text!r}") from None


def _season(text: str, hemisphere: Hemisphere, today: dt.date) -> str:
    try:
        if text.lower() == "current":
            return season_of(today, hemisphere)
        return parse_season(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
