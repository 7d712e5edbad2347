"""School calendar: which days are school days, by the contract's rule.

School half-days are Monday to Friday outside the holidays of the ``calendar`` table; they are
the denominator of every attendance rate. The synthetic district also uses
:func:`french_holidays` to write a plausible ``calendar`` table.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from dateutil.easter import easter

from features.school import school_year_end, school_year_start


def year_bounds(school_year: int) -> tuple[date, date]:
    """First day and first day after a school year (1 September to 31 August)."""
    return school_year_start(school_year), school_year_start(school_year + 1)


def _saturday_on_or_after(day: date) -> date:
    return day + timedelta(days=(5 - day.weekday()) % 7)


def french_holidays(school_year: int) -> pd.DataFrame:
    """Approximate national holidays and public holidays of a school year (one zone)."""
    y = school_year
    rows: list[tuple[date, date, str]] = []
    for start_hint, label in (
        (date(y, 10, 17), "Vacances de la Toussaint"),
        (date(y, 12, 17), "Vacances de Noël"),
        (date(y + 1, 2, 10), "Vacances d'hiver"),
        (date(y + 1, 4, 8), "Vacances de printemps"),
    ):
        start = _saturday_on_or_after(start_hint)
        rows.append((start, start + timedelta(days=15), label))
    rows.append((_saturday_on_or_after(date(y + 1, 7, 4)), school_year_end(y), "Vacances d'été"))
    paques = easter(y + 1)
    for day, label in (
        (date(y, 11, 11), "Armistice"),
        (paques + timedelta(days=1), "Lundi de Pâques"),
        (date(y + 1, 5, 1), "Fête du Travail"),
        (date(y + 1, 5, 8), "Victoire 1945"),
        (paques + timedelta(days=39), "Ascension"),
        (paques + timedelta(days=40), "Pont de l'Ascension"),
        (paques + timedelta(days=50), "Lundi de Pentecôte"),
    ):
        rows.append((day, day, label))
    frame = pd.DataFrame(rows, columns=["start_date", "end_date", "label"])
    return frame.sort_values("start_date").reset_index(drop=True)


def school_days(start: date, end: date, holidays: pd.DataFrame | None) -> np.ndarray:
    """School days in ``[start, end)`` as ``datetime64[D]``: weekdays outside every holiday."""
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D"))
    weekday = np.busday_count(days, days + 1).astype(bool)  # Monday-Friday
    keep = weekday.copy()
    if holidays is not None and len(holidays):
        for first, last in zip(
            pd.to_datetime(holidays["start_date"]).to_numpy("datetime64[D]"),
            pd.to_datetime(holidays["end_date"]).to_numpy("datetime64[D]"),
            strict=True,
        ):
            keep &= ~((days >= first) & (days <= last))
    return days[keep]
