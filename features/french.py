"""French display of numbers and dates, the one place every report, card, page and reason
formats them.

Decimal comma, a narrow no-break space between thousands, a dash for what is missing, and
French plurals (singular under 2: « 0 incident », « 1,5 an », « 2 incidents »).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

MISSING = "—"
THOUSANDS = "\u202f"
#: Statistical disclosure: a figure resting on fewer pupils than this is not shown, but this marker.
MIN_CELL = 10
SUPPRESSED = "effectif insuffisant"


def publishable(part: int, whole: int) -> bool:
    """A count may be published when it and its complement both rest on MIN_CELL pupils or more.

    The complement matters as much as the count: « 0 of 40 dropped out » or « 38 of 40 had an
    interview » tells something about every pupil of the group, or about the two others.
    """
    return part >= MIN_CELL and whole - part >= MIN_CELL


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _unsigned_zero(value: float, digits: int) -> float:
    """0.0 for a value that rounds to zero: ``0,000``, never ``-0,000`` (a reader takes the sign for a finding)."""
    return 0.0 if round(value, digits) == 0 else value


def numbers(values: Iterable[float | None], digits: int = 1) -> list[str]:
    """Many numbers at once (a batch's reasons): the one place their French form is written."""
    return [
        MISSING if _missing(v) else f"{_unsigned_zero(v, digits):,.{digits}f}".replace(",", THOUSANDS).replace(".", ",")  # type: ignore[arg-type]
        for v in values
    ]


def number(value: float | None, digits: int = 1) -> str:
    """``3,142`` for ``number(3.14159, 3)``; a dash when missing."""
    return numbers([value], digits)[0]


def signed(value: float | None, digits: int = 1) -> str:
    """A difference, its sign always shown: ``+0,012``, ``-0,004``; a dash when missing."""
    if _missing(value):
        return MISSING
    return ("+" if _unsigned_zero(value, digits) >= 0 else "") + number(value, digits)  # type: ignore[arg-type]


def integer(value: float | None) -> str:
    """``11 632`` (narrow no-break space); a dash when missing."""
    return number(value, 0)


def percents(shares: Iterable[float | None], digits: int = 0) -> list[str]:
    """Many shares as percentages at once."""
    shown = [None if _missing(v) else 100 * v for v in shares]  # type: ignore[operator]
    return [MISSING if v is None else f"{text} %" for v, text in zip(shown, numbers(shown, digits), strict=True)]


def percent(share: float | None, digits: int = 0) -> str:
    """A share as a percentage: ``12,5 %`` for ``percent(0.125, 1)``."""
    return percents([share], digits)[0]


def points(share: float | None, digits: int = 1) -> str:
    """A difference of shares in percentage points, without the unit: ``2,5`` for 0.025."""
    return MISSING if _missing(share) else number(100 * share, digits)  # type: ignore[operator]


def day(value: date | str | None) -> str:
    """``31/03/2025`` for a date (or its ISO text); a dash when missing."""
    if value is None:
        return MISSING
    return (date.fromisoformat(value) if isinstance(value, str) else value).strftime("%d/%m/%Y")


def moment(value: datetime) -> str:
    """When a report was made, as its readers say it: ``25/11/2026 à 14:59 UTC``."""
    return value.astimezone(UTC).strftime("%d/%m/%Y à %H:%M UTC")


def days(values: Iterable[date | str]) -> str:
    """Dates in a sentence: ``15/12/2023, 31/03/2024``."""
    return ", ".join(day(v) for v in values)


#: Days in an average month: a horizon within ``_MONTH_SLACK`` days of whole months is said in months.
_MONTH_DAYS = 365.25 / 12
_MONTH_SLACK = 3


def horizon(days: int) -> str:
    """A label horizon as people say it: ``12 mois`` (365 days), ``6 mois`` (180), ``45 jours``."""
    months = round(days / _MONTH_DAYS)
    if months >= 1 and abs(days - months * _MONTH_DAYS) <= _MONTH_SLACK:
        return f"{months} mois"
    return f"{integer(days)} {plural(days, 'jour', 'jours')}"


def of(noun: str) -> str:
    """``de`` before ``noun``, elided before a vowel or a mute h: ``d'absences``, ``de retards``."""
    return f"d'{noun}" if noun[:1].lower() in "aâeéèêiîoôuûyh" else f"de {noun}"


def plural(count: float, one: str, many: str) -> str:
    """French agreement: singular under 2 (``0 matière``, ``1 matière``, ``2 matières``)."""
    return one if abs(count) < 2 else many


#: These formats as Jinja filters, registered by every page and report template environment.
JINJA_FILTERS: dict[str, Callable[..., str]] = {
    "number": number,
    "integer": integer,
    "percent": percent,
    "signed": signed,
    "day": day,
    "days": days,
    "moment": moment,
    "horizon": horizon,
}
