"""Split dates are pinned for a given config; configs fail before compute, naming the section."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from training.config import SplitConfig, load_train_config
from training.splits import SplitError, temporal_split

DATES = sorted(
    [date(y, 12, 15) for y in range(2019, 2024)]
    + [date(y, m, d) for y in range(2020, 2025) for m, d in ((3, 31), (6, 15))]
)


def test_split_dates_are_exactly_these() -> None:
    split = temporal_split(DATES, horizon_days=365, config=SplitConfig(test_dates=3, valid_dates=3))
    assert split.test == (date(2023, 12, 15), date(2024, 3, 31), date(2024, 6, 15))
    assert split.valid == (date(2022, 3, 31), date(2022, 6, 15), date(2022, 12, 15))
    assert split.train == (date(2019, 12, 15), date(2020, 3, 31), date(2020, 6, 15), date(2020, 12, 15),
                           date(2021, 3, 31))  # fmt: skip


def test_no_label_of_an_earlier_fold_reaches_into_a_later_one() -> None:
    split = temporal_split(DATES, horizon_days=180, config=SplitConfig(test_dates=2, valid_dates=2))
    assert max(split.valid).toordinal() + 180 <= min(split.test).toordinal()
    assert max(split.train).toordinal() + 180 <= min(split.valid).toordinal()
    assert split.test == (date(2024, 3, 31), date(2024, 6, 15))
    assert split.valid == (date(2023, 3, 31), date(2023, 6, 15))
    assert split.train[-1] == date(2022, 6, 15)


def test_too_few_dates_is_a_clear_error() -> None:
    with pytest.raises(SplitError, match="3 labelled as-of dates; the split needs more than 6"):
        temporal_split(DATES[:3], horizon_days=365, config=SplitConfig())


def test_config_errors_name_the_section(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("model:\n  learning_rate: 3\nsplit:\n  test_date: 2\n")
    with pytest.raises(
        ValueError, match=r"train\.yaml: invalid training config: split\.test_date: Extra inputs"
    ) as err:
        load_train_config(path)
    assert "model.learning_rate" in str(err.value)
    config = load_train_config(Path("configs/train.yaml"), {"seed": 7, "tuning.trials": 2})
    assert config.seed == 7 and config.tuning.trials == 2 and config.model.monotone
