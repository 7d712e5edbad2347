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
    with pytest.raises(SplitError, match=r"3 labelled as-of dates over 1 school year \(2019-2020\)"):
        temporal_split(DATES[:3], horizon_days=365, config=SplitConfig(test_dates=3, valid_dates=3))


def test_by_default_the_split_follows_the_school_years() -> None:
    """The last labelled school year tests, the one before validates (its dates closed in time),
    the rest trains; with the configured counts, the configuration wins."""
    split = temporal_split(DATES, horizon_days=365, config=SplitConfig())
    assert split.rule == "school_years"
    assert split.test == (date(2023, 12, 15), date(2024, 3, 31), date(2024, 6, 15))
    assert split.valid == (date(2022, 12, 15),)  # its March and June close after the first test date
    assert split.notes == ("valid_part_of_year",)
    assert split.train == tuple(d for d in DATES if d <= date(2021, 12, 15))
    assert temporal_split(DATES, horizon_days=365, config=SplitConfig(test_dates=3, valid_dates=3)).rule == "configured"


def test_a_short_extract_falls_back_to_fewer_dates_and_says_so() -> None:
    """Three labelled school years whose first holds only a June date: the test keeps the last
    date, the validation its year's last, and the split says it fell back."""
    dates = [date(2020, 6, 15)] + [date(y, m, d) for y in (2020, 2021) for m, d in ((12, 15),)]
    dates += [date(2021, 3, 31), date(2021, 6, 15), date(2022, 3, 31), date(2022, 6, 15)]
    split = temporal_split(dates, horizon_days=365, config=SplitConfig())
    assert split.test == (date(2022, 6, 15),)
    assert split.valid == (date(2021, 6, 15),)
    assert split.train == (date(2020, 6, 15),)
    assert split.notes == ("test_part_of_year", "valid_part_of_year")


def test_no_split_names_the_dates_and_school_years_and_what_would_work() -> None:
    two_years = [date(2020, 12, 15), date(2021, 3, 31), date(2021, 6, 15), date(2021, 12, 15), date(2022, 3, 31)]
    with pytest.raises(SplitError) as error:
        temporal_split(two_years, horizon_days=365, config=SplitConfig())
    message = str(error.value)
    assert message.startswith("5 labelled as-of dates over 2 school years (2020-2021, 2021-2022)")
    assert "features.horizon_days: 182" in message  # 2021-06-15 is 182 and 289 days from either end
    assert "three school years" in message
    with pytest.raises(SplitError, match=r"remove split\.test_dates and split\.valid_dates"):
        temporal_split(DATES, horizon_days=365, config=SplitConfig(test_dates=9, valid_dates=3))


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
