"""The follow-up report's statistical disclosure control: no published figure rests on fewer
than MIN_CELL pupils, nor does its complement, nor can one be recovered by difference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from features.french import MIN_CELL
from serving.api.plans import ACTIONS
from serving.followup_report import COLUMNS, Tally, _figures, withheld_columns


def tally(flagged: int, planned: int, dropped_planned: int, dropped_unplanned: int, cpe: int | None = None) -> Tally:
    kinds = dict.fromkeys(ACTIONS, 0) | {"entretien_cpe": planned if cpe is None else cpe}
    return Tally(flagged, planned, dropped_planned, dropped_unplanned, tuple(range(planned)), kinds)


def total(schools: dict[str, Tally]) -> Tally:
    rows = list(schools.values())
    return Tally(
        flagged=sum(t.flagged for t in rows),
        planned=sum(t.planned for t in rows),
        dropped_planned=sum(t.dropped_planned for t in rows),
        dropped_unplanned=sum(t.dropped_unplanned for t in rows),
        days_to_plan=tuple(d for t in rows for d in t.days_to_plan),
        kinds={a: sum(t.kinds[a] for t in rows) for a in ACTIONS},
    )


def test_a_count_or_its_complement_under_ten_is_withheld() -> None:
    row = tally(flagged=60, planned=30, dropped_planned=3, dropped_unplanned=18)
    figures = _figures("0000001A", row, withheld_columns(row, {"0000001A": row})[0])
    assert figures.flagged == 60 and figures.with_plan.events == 30 and figures.median_days_to_plan == 14.5
    assert figures.dropout_with_plan.value is None and figures.dropout_with_plan.events is None  # 3 dropouts
    assert figures.dropout_without_plan.events == 18 and figures.dropout_without_plan.pupils == 30
    nearly_all = tally(flagged=40, planned=35, dropped_planned=12, dropped_unplanned=0)
    figures = _figures("x", nearly_all, withheld_columns(nearly_all, {"x": nearly_all})[0])
    assert figures.flagged == 40
    # 5 pupils without a plan: the split, and both dropout rates that would give it back, are withheld
    assert figures.with_plan.value is None and figures.median_days_to_plan is None
    assert figures.dropout_with_plan.value is None and figures.dropout_without_plan.value is None


def test_a_school_withheld_alone_takes_the_smallest_other_with_it() -> None:
    schools = {
        "A": tally(flagged=80, planned=40, dropped_planned=12, dropped_unplanned=15),
        "B": tally(flagged=50, planned=25, dropped_planned=10, dropped_unplanned=11),
        "C": tally(flagged=45, planned=20, dropped_planned=10, dropped_unplanned=12),
        "D": tally(flagged=7, planned=3, dropped_planned=1, dropped_unplanned=1),
    }
    district, hidden = withheld_columns(total(schools), schools)
    assert district == {f"kind:{a}" for a in ACTIONS if a != "entretien_cpe"}  # nobody had those: 0 < 10
    assert hidden["D"] == set(COLUMNS)  # 7 pupils
    assert hidden["C"] == set(COLUMNS)  # otherwise D = district - A - B - C
    assert "flagged" not in hidden["A"] and "flagged" not in hidden["B"]


@st.composite
def districts(draw: st.DrawFn) -> dict[str, Tally]:
    schools: dict[str, Tally] = {}
    for index in range(draw(st.integers(1, 6))):
        flagged = draw(st.integers(0, 120))
        planned = draw(st.integers(0, flagged))
        schools[f"S{index}"] = tally(
            flagged,
            planned,
            draw(st.integers(0, planned)),
            draw(st.integers(0, flagged - planned)),
            cpe=draw(st.integers(0, planned)),
        )
    return schools


@settings(max_examples=300, deadline=None)
@given(districts())
def test_nothing_published_rests_on_fewer_than_ten_nor_comes_back_by_difference(schools: dict[str, Tally]) -> None:
    whole = total(schools)
    district, hidden = withheld_columns(whole, schools)
    rows = [_figures("ensemble", whole, district)] + [_figures(s, t, hidden[s]) for s, t in schools.items()]
    for row in rows:
        assert row.flagged is None or row.flagged >= MIN_CELL
        for rate in (row.with_plan, row.dropout_with_plan, row.dropout_without_plan):
            if rate.value is not None:
                assert rate.events is not None and rate.pupils is not None
                assert rate.events >= MIN_CELL and rate.pupils - rate.events >= MIN_CELL
        shown_kinds = [count for count in row.kinds.values() if count is not None]
        assert row.flagged is not None or not shown_kinds
        assert all(count >= MIN_CELL and row.flagged - count >= MIN_CELL for count in shown_kinds)  # type: ignore[operator]
        if row.with_plan.value is None:  # the split cannot be read back from the dropout rates' sizes
            assert row.dropout_with_plan.pupils is None and row.dropout_without_plan.pupils is None
    for column in COLUMNS:
        if column not in district:
            assert sum(column in h for h in hidden.values()) != 1, column
