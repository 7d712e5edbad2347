"""The school vocabulary every stage shares: the risk tiers, the start of a school year, the key
of a snapshot and the default label horizon. Defined here once; everything else imports them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final, Literal

#: The risk tiers of a batch, most at risk first.
Tier = Literal["high", "medium", "low"]
TIERS: Final[tuple[Tier, ...]] = ("high", "medium", "low")
#: A school year is named by the calendar year it starts in, on 1 September.
SCHOOL_YEAR_START: Final = (9, 1)
#: One row per pupil and as-of date: the key of every snapshot table.
SNAPSHOT_KEY: Final = ("pupil_id", "as_of")
#: The label horizon unless a config says otherwise: dropout within a year of the as-of date.
DEFAULT_HORIZON_DAYS: Final = 365


def school_year_start(school_year: int) -> date:
    """1 September of ``school_year`` (2024 -> 2024-09-01, the start of 2024-2025)."""
    return date(school_year, *SCHOOL_YEAR_START)


def school_year_end(school_year: int) -> date:
    """The last day of ``school_year`` (2024 -> 2025-08-31)."""
    return school_year_start(school_year + 1) - timedelta(days=1)


def school_year_of(day: date) -> int:
    """The school year a day belongs to (2025-03-31 -> 2024)."""
    return day.year if (day.month, day.day) >= SCHOOL_YEAR_START else day.year - 1


def retained_until(day: date, school_years: int) -> date:
    """The last day something dated ``day`` is kept when retention is ``school_years`` after its
    own school year: 1 keeps it to the end of the next school year (the current and the previous
    year are then always kept). Plans, score batches: one rule (GDPR art. 5(1)(e))."""
    return school_year_end(school_year_of(day) + school_years)
