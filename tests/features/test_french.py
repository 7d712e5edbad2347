"""French display: the one formatter every report, card, page and reason calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from features import french


def test_numbers_use_a_decimal_comma_and_narrow_spaces() -> None:
    assert french.number(3.14159, 3) == "3,142"
    assert french.integer(11632) == "11\u202f632"
    assert french.percent(0.125, 1) == "12,5 %"
    assert french.points(0.025) == "2,5"
    assert french.number(float("nan")) == french.number(None) == "—"


def test_dates_read_day_month_year_whether_dates_or_iso_text() -> None:
    assert french.day(date(2025, 3, 31)) == french.day("2025-03-31") == "31/03/2025"
    assert french.day(None) == "—"
    assert french.days([date(2023, 12, 15), "2024-03-31"]) == "15/12/2023, 31/03/2024"
    paris = timezone(timedelta(hours=1))
    assert french.moment(datetime(2026, 11, 25, 15, 59, tzinfo=paris)) == "25/11/2026 à 14:59 UTC"
    assert french.moment(datetime(2026, 11, 25, 14, 59, tzinfo=UTC)) == "25/11/2026 à 14:59 UTC"


def test_plurals_are_singular_under_two() -> None:
    assert [french.plural(n, "incident", "incidents") for n in (0, 1, 1.5, 2)] == [
        "incident",
        "incident",
        "incident",
        "incidents",
    ]


def test_a_value_that_rounds_to_zero_has_no_minus_sign() -> None:
    """'-0,000' reads as a finding to a data protection officer; it is '0,000' (signed: '+0,000')."""
    assert french.number(-0.0004, 3) == "0,000"
    assert french.signed(-0.0004, 3) == "+0,000"
    assert french.number(-0.004, 3) == "-0,004" and french.signed(-0.004, 3) == "-0,004"
