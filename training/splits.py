"""Temporal splits: never a random row split, never a label that peeks into a later fold.

By default the split follows the school years of the labelled as-of dates: the last labelled
school year tests; validation takes the dates of the latest earlier school year whose horizon
closes on or before the first test date; training every date whose horizon closes on or before
the first validation date. So no outcome that the test fold scores is known to the model, the
early stopping or the calibrator. A short extract falls back to fewer dates (first a single
validation date, then fewer test dates), and the split says so (:attr:`TrainingSplit.notes`).

An explicit ``test_dates`` and ``valid_dates`` in the config still wins: the last ``test_dates``
test, the latest ``valid_dates`` closed before them validate, the closed rest trains.

When no split exists, :class:`SplitError` says how many labelled dates and school years there
are, and the smallest setting that would work.
"""

from __future__ import annotations

from datetime import date, timedelta

from features.school import school_year_of
from models.registry import SplitNote, TrainingSplit
from training.config import SplitConfig

#: The split a run trains on: the typed hand-off monitoring reads back from the run.
TemporalSplit = TrainingSplit


class SplitError(ValueError):
    """Not enough labelled as-of dates for the configured split."""


def _closed_before(dates: list[date], horizon: timedelta, first: date) -> list[date]:
    return [d for d in dates if d + horizon <= first]


def _configured(dates: list[date], horizon: timedelta, test_dates: int, valid_dates: int) -> TrainingSplit | None:
    if len(dates) < test_dates + valid_dates + 1:
        return None
    test = dates[-test_dates:]
    valid = _closed_before(dates, horizon, test[0])[-valid_dates:]
    train = _closed_before(dates, horizon, valid[0]) if valid else []
    if not train:
        return None
    return TrainingSplit(train=tuple(train), valid=tuple(valid), test=tuple(test), rule="configured")


def _by_school_year(dates: list[date], horizon: timedelta) -> TrainingSplit | None:
    """The last school year tests, the one before validates, the rest trains; fewer dates when short."""
    last_year = [d for d in dates if school_year_of(d) == school_year_of(dates[-1])]
    for keep in range(len(last_year), 0, -1):
        test = last_year[-keep:]
        closed = _closed_before(dates, horizon, test[0])
        if not closed:
            continue
        valid_year = [d for d in closed if school_year_of(d) == school_year_of(closed[-1])]
        for valid in (valid_year, valid_year[-1:]):
            train = _closed_before(dates, horizon, valid[0])
            if not train:
                continue
            notes: list[SplitNote] = []
            if keep < len(last_year):
                notes.append("test_part_of_year")
            if len(valid) < len([d for d in dates if school_year_of(d) == school_year_of(valid[0])]):
                notes.append("valid_part_of_year")
            return TrainingSplit(
                train=tuple(train), valid=tuple(valid), test=tuple(test), rule="school_years", notes=tuple(notes)
            )
    return None


def temporal_split(labelled_dates: list[date], *, horizon_days: int, config: SplitConfig) -> TemporalSplit:
    """The folds of ``labelled_dates`` (see the module's docstring), or a :class:`SplitError`
    that names what there is and what would work."""
    dates = sorted(set(labelled_dates))
    horizon = timedelta(days=horizon_days)
    if config.test_dates is not None or config.valid_dates is not None:
        split = _configured(dates, horizon, config.test_dates or 1, config.valid_dates or 1)
    else:
        split = _by_school_year(dates, horizon) if dates else None
    if split is None:
        raise SplitError(_no_split(dates, horizon_days, config))
    return split


def _largest_workable_horizon(dates: list[date]) -> int:
    """The longest horizon at which three folds fit in ``dates``: test on the last date, train on
    the first, validate on the date between them farthest from both."""
    if len(dates) < 3:
        return 0
    return max(min((dates[-1] - mid).days, (mid - dates[0]).days) for mid in dates[1:-1])


def _no_split(dates: list[date], horizon_days: int, config: SplitConfig) -> str:
    years = sorted({school_year_of(d) for d in dates})
    named = f" ({', '.join(f'{y}-{y + 1}' for y in years)})" if years else ""
    have = (
        f"{len(dates)} labelled as-of date{'s' if len(dates) != 1 else ''} over {len(years)} "
        f"school year{'s' if len(years) != 1 else ''}{named}"
    )
    explicit = config.test_dates is not None or config.valid_dates is not None
    wanted = (
        f"split.test_dates {config.test_dates or 1} and split.valid_dates {config.valid_dates or 1}"
        if explicit
        else "the last labelled school year to test, the one before to validate and an earlier one to train"
    )
    need = (
        f"{have}; the split needs a training, a validation and a test fold whose {horizon_days}-day label "
        f"horizons close one before the next ({wanted})."
    )
    fixes: list[str] = []
    horizon = timedelta(days=horizon_days)
    if explicit and _by_school_year(dates, horizon) is not None:
        fixes.append("remove split.test_dates and split.valid_dates (the split then follows the school years)")
    elif explicit and _configured(dates, horizon, 1, 1) is not None:
        fixes.append("split.test_dates: 1 and split.valid_dates: 1")
    workable = _largest_workable_horizon(dates)
    if 0 < workable < horizon_days:
        fixes.append(f"features.horizon_days: {workable} (the longest horizon these dates can split at)")
    fixes.append(
        f"an extract whose outcomes close the {horizon_days}-day horizon of three school years' dates "
        f"(labels of more school years, or more as-of dates a year in features.schedule.days)"
    )
    return f"{need} What would work: " + "; or ".join(fixes) + "."
