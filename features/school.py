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
#: School years before the current one that the trajectory's histories (repeats, school changes,
#: months in the current school) look back at: a fixed look-back, never "since the extract
#: starts", so a model never learns from histories an extract cut short what it later reads in
#: full. 0, the current school year, is one every snapshot fills (an extract starts with a school
#: year) and keeps a four-year extract trainable; with more, training leaves out the snapshots
#: whose look-back the extract does not cover, counted and reported (:func:`look_back_covered`).
LOOKBACK_YEARS: Final = 0


def school_year_start(school_year: int) -> date:
    """1 September of ``school_year`` (2024 -> 2024-09-01, the start of 2024-2025)."""
    return date(school_year, *SCHOOL_YEAR_START)


def school_year_end(school_year: int) -> date:
    """The last day of ``school_year`` (2024 -> 2025-08-31)."""
    return school_year_start(school_year + 1) - timedelta(days=1)


def school_year_of(day: date) -> int:
    """The school year a day belongs to (2025-03-31 -> 2024)."""
    return day.year if (day.month, day.day) >= SCHOOL_YEAR_START else day.year - 1


def look_back_covered(day: date, extract_first_year: int) -> bool:
    """Whether the extract, starting with ``extract_first_year``, holds the whole look-back of a
    snapshot dated ``day`` (its school year and the :data:`LOOKBACK_YEARS` before)."""
    return school_year_of(day) - LOOKBACK_YEARS >= extract_first_year


def retained_until(day: date, school_years: int) -> date:
    """The last day something dated ``day`` is kept when retention is ``school_years`` after its
    own school year: 1 keeps it to the end of the next school year (the current and the previous
    year are then always kept). Plans, score batches: one rule (GDPR art. 5(1)(e))."""
    return school_year_end(school_year_of(day) + school_years)
