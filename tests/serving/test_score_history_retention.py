"""Storage limitation of the score history (GDPR art. 5(1)(e)): ``vigie score-history purge``
lists then deletes exactly the batches past retention, each with its metadata and model inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from features.school import retained_until
from serving.batch import (
    SCORE_SCHEMA,
    batch_files,
    batches_due,
    history_file,
    inputs_file,
    kept_batches,
    purge_history,
)
from vigie.cli import app

VERSION = "vigie-dropout/2"
#: As-of dates across school years 2021 to 2024 (a school year starts on 1 September).
DATES = (date(2022, 6, 30), date(2022, 9, 1), date(2023, 8, 31), date(2024, 3, 31), date(2024, 9, 2))


def _batch(history: Path, as_of: date, version: str = VERSION) -> list[Path]:
    """A kept batch as scoring writes it: scores, metadata beside them, model inputs."""
    path = history_file(history, as_of, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([], schema=SCORE_SCHEMA), path)
    path.with_suffix(".json").write_text("{}", encoding="utf-8")
    inputs_file(path).parent.mkdir(exist_ok=True)
    pq.write_table(pa.table({"pupil_id": ["p"]}), inputs_file(path))
    return [path, path.with_suffix(".json"), inputs_file(path)]


def _history(root: Path) -> tuple[Path, dict[date, list[Path]]]:
    history = root / "score_history"
    files = {day: _batch(history, day) for day in DATES}
    files[DATES[3]] += _batch(history, DATES[3], "vigie-dropout/1")  # two versions scored that day
    return history, files


def test_one_retention_rule_for_plans_and_scores() -> None:
    """Kept until the end of the school year after their own: the current and previous years stay."""
    assert retained_until(date(2023, 8, 31), 1) == date(2024, 8, 31)  # school year 2022 -> end of 2023
    assert retained_until(date(2023, 9, 1), 1) == date(2025, 8, 31)
    assert retained_until(date(2023, 9, 1), 0) == date(2024, 8, 31)


def test_purge_deletes_exactly_what_is_due(tmp_path: Path) -> None:
    history, files = _history(tmp_path)
    assert len(kept_batches(history)) == 6 and all(len(batch_files(b)) == 3 for b in kept_batches(history))
    # 31 August 2024, last day of school year 2023: the batches of school year 2021 are due, no other
    due = batches_due(history, 1, date(2024, 8, 31))
    assert [(b.as_of, b.model_version) for b in due] == [(DATES[0], VERSION)]
    assert all(p.exists() for paths in files.values() for p in paths)  # listing deletes nothing
    # 1 September 2024, school year 2024: now 2022's too (2022-09-01 and 2023-08-31), not 2023's
    gone = purge_history(history, 1, date(2024, 9, 1))
    assert sorted(b.as_of for b in gone) == [DATES[0], DATES[1], DATES[2]]
    for day in DATES[:3]:
        assert not any(p.exists() for p in files[day]) and not history_file(history, day, VERSION).parent.exists()
    for day in DATES[3:]:
        assert all(p.exists() for p in files[day]), day
    assert {(b.as_of, b.model_version) for b in kept_batches(history)} == {
        (DATES[3], VERSION), (DATES[3], "vigie-dropout/1"), (DATES[4], VERSION)
    }  # fmt: skip
    assert purge_history(history, 1, date(2024, 9, 1)) == []  # nothing left that is due
    assert len(purge_history(history, 0, date(2024, 9, 1))) == 2  # a shorter setting: 2023's go too


def test_the_purge_command_lists_then_deletes(tmp_path: Path) -> None:
    _, files = _history(tmp_path / "data")
    env = {"VIGIE_DATA_DIR": str(tmp_path / "data"), "VIGIE_REFERENCE_DATE": "2024-09-01"}
    runner = CliRunner()
    listed = runner.invoke(app, ["score-history", "purge", "--dry-run"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "3 score batches past retention would be deleted (dry run)." in listed.output
    assert "as of 2022-06-30, vigie-dropout/2: kept until 2023-08-31" in listed.output
    assert all(p.exists() for paths in files.values() for p in paths)
    done = runner.invoke(app, ["score-history", "purge"], env=env)
    assert done.exit_code == 0 and "3 score batches past retention deleted." in done.output
    assert sum(p.exists() for paths in files.values() for p in paths) == 9  # 3 batches x 3 files kept
    longer = {**env, "VIGIE_SERVICE__SCORE_HISTORY_RETENTION_SCHOOL_YEARS": "3"}
    kept = runner.invoke(app, ["score-history", "purge"], env=longer)
    assert kept.exit_code == 0 and "0 score batches past retention deleted." in kept.output
