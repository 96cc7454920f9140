"""Seasons of the retail year, from a date or a month, for either hemisphere."""

from __future__ import annotations

import datetime as dt
from typing import Literal

SEASONS = ("winter", "spring", "summer", "autumn")
Hemisphere = Literal["north", "south"]
# Meteorological seasons: whole months, which is how shops plan collections.
_NORTH = {12: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 2, 7: 2, 8: 2, 9: 3, 10: 3, 11: 3}


def season_of(when: dt.date | int, hemisphere: Hemisphere = "north") -> str:
    """The season of a date (or a month number 1-12)."""
    month = when if isinstance(when, int) else when.month
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    index = _NORTH[month]
    if hemisphere == "south":
        index = (index + 2) % 4
    return SEASONS[index]


def parse_season(text: str) -> str:
    """A season name, case-insensitive; 'fall' is autumn. Unknown names list the known ones."""
    name = text.strip().lower()
    name = "autumn" if name == "fall" else name
    if name not in SEASONS:
        raise ValueError(f"unknown season {text!r}; known seasons: {', '.join(SEASONS)}")
    return name
