"""Temporal splits: never a random row split, never a label that peeks into a later fold.

Given the as-of dates whose labels have closed, the last ``test_dates`` test. Validation
takes the latest ``valid_dates`` dates whose horizon closes on or before the first test date,
and training every date whose horizon closes on or before the first validation date. So no
outcome that the test fold scores is known to the model, the early stopping or the calibrator.
"""

from __future__ import annotations

from datetime import date, timedelta

from models.registry import TrainingSplit
from training.config import SplitConfig

#: The split a run trains on: the typed hand-off monitoring reads back from the run.
TemporalSplit = TrainingSplit


class SplitError(ValueError):
    """Not enough labelled as-of dates for the configured split."""


def temporal_split(labelled_dates: list[date], *, horizon_days: int, config: SplitConfig) -> TemporalSplit:
    """Train, validation and test as-of dates in time order; an earlier fold keeps only the dates whose horizon
    (``horizon_days``) closes by the next fold's first date, so no label it learns from lies in the later fold's future.
    """
    dates = sorted(set(labelled_dates))
    if len(dates) < config.test_dates + config.valid_dates + 1:
        raise SplitError(
            f"{len(dates)} labelled as-of dates; the split needs more than {config.test_dates + config.valid_dates}."
        )
    horizon = timedelta(days=horizon_days)
    test = tuple(dates[-config.test_dates :])
    valid = tuple([d for d in dates if d + horizon <= test[0]][-config.valid_dates :])
    if not valid:
        raise SplitError(f"no as-of date's horizon closes before the first test date {test[0]}.")
    train = tuple(d for d in dates if d + horizon <= valid[0])
    if not train:
        raise SplitError(f"no as-of date's horizon closes before the first validation date {valid[0]}.")
    return TrainingSplit(train=train, valid=valid, test=test)
