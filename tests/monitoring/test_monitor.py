"""``vigie monitor`` on the synthetic district: quiet on an unchanged batch, and alerting exactly
where a recording practice, a grading scale or the outcomes changed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitoring import MonitoringResult
from tests.monitoring.conftest import (
    CHANGE_FROM,
    CURRENT,
    PAST,
    Monitored,
    altered_copy,
    enrolled_schools,
    run_monitor,
    scored,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("monitoring")]


def _recode_justified(extract: Path, pupils: set[str]) -> int:
    """Justified absences of ``pupils`` recorded as unjustified from CHANGE_FROM on."""
    attendance = pd.read_parquet(extract / "attendance.parquet")
    when = pd.to_datetime(attendance["date"]).dt.date >= CHANGE_FROM
    chosen = when & attendance["pupil_id"].isin(pupils) & (attendance["kind"] == "absence") & attendance["justified"]
    attendance.loc[chosen, "justified"] = False
    attendance.to_parquet(extract / "attendance.parquet", index=False)
    return int(chosen.sum())


def _rules(result: MonitoringResult, prefix: str) -> set[str]:
    return {a.rule.removeprefix(prefix) for a in result.alerts if a.rule.startswith(prefix)}


@pytest.fixture(scope="module")
def unchanged(monitored: Monitored, tmp_path_factory: pytest.TempPathFactory) -> MonitoringResult:
    work = tmp_path_factory.mktemp("unchanged")
    return run_monitor(monitored, altered_copy(monitored, work), work)


def test_a_batch_from_the_same_district_does_not_alert(unchanged: MonitoringResult) -> None:
    assert unchanged.alerts == [], [a.message for a in unchanged.alerts]
    assert unchanged.drift.risk.score is not None and unchanged.drift.risk.score < 0.2
    assert unchanged.reference_dates and all((d.month, d.day) == (3, 31) for d in unchanged.reference_dates)
    assert [s for s in unchanged.schools if s.status == "tested"], "no school was compared"


def test_an_unchanged_batch_does_not_drift_on_the_trajectory_histories(unchanged: MonitoringResult) -> None:
    """Issue 25: histories accumulated "so far" since the extract's start were cut short in early
    training snapshots and read in full later, so the demo's monitoring flagged them on unchanged
    data. With a fixed look-back every snapshot fills, they no longer drift."""
    by_name = {c.column: c for c in unchanged.drift.columns}
    for name in ("months_in_current_school", "school_changes_so_far", "repeats_so_far"):
        assert by_name[name].score is not None and not by_name[name].drifted, by_name[name]


def test_justified_absences_recoded_in_three_schools_alert_on_exactly_those(
    monitored: Monitored, tmp_path: Path
) -> None:
    schools = enrolled_schools(monitored.validated, CURRENT.year - 1)
    changed = sorted(schools["school_id"].unique())[:3]
    pupils = set(schools.loc[schools["school_id"].isin(changed), "pupil_id"])

    def alter(extract: Path) -> None:
        assert _recode_justified(extract, pupils) > 100

    result = run_monitor(monitored, altered_copy(monitored, tmp_path, alter), tmp_path)
    assert _rules(result, "school:") == set(changed), [a.message for a in result.alerts]
    for item in result.schools:
        if item.name in changed:  # what moved is attendance, and it is said in French with the figure
            drifted = set(item.drifted_columns)
            assert "justified_absence_rate_4w" in drifted and any(c.startswith("unjustified") for c in drifted)
    message = next(a.message for a in result.alerts if a.rule == f"school:{changed[0]}")
    assert message.startswith(f"Vérifier la saisie dans l'établissement {changed[0]}")


def test_scholarship_holders_recorded_more_strictly_alert_on_that_group(monitored: Monitored, tmp_path: Path) -> None:
    """A recording bias that starts after training: the change over time shows it, for the group."""
    enrolled = enrolled_schools(monitored.validated, CURRENT.year - 1)
    holders = set(enrolled.loc[enrolled["scholarship"] > 0, "pupil_id"])

    def alter(extract: Path) -> None:
        assert _recode_justified(extract, holders) > 50

    result = run_monitor(monitored, altered_copy(monitored, tmp_path, alter), tmp_path)
    groups = _rules(result, "group:")
    assert "scholarship:boursier" in groups, [a.message for a in result.alerts]
    assert "scholarship:non boursier" not in groups


def test_a_grading_scale_change_alerts_on_grade_features(monitored: Monitored, tmp_path: Path) -> None:
    """Marks out of 10 exported as out of 20 from a date on."""

    def alter(extract: Path) -> None:
        grades = pd.read_parquet(extract / "grades.parquet")
        later = pd.to_datetime(grades["date"]).dt.date >= CHANGE_FROM
        grades.loc[later, "score"] = grades.loc[later, "score"] * 10 / grades.loc[later, "max_score"]
        grades.loc[later, "max_score"] = 20.0
        grades.to_parquet(extract / "grades.parquet", index=False)

    result = run_monitor(monitored, altered_copy(monitored, tmp_path, alter), tmp_path)
    assert "family:course" in {a.rule for a in result.alerts}, [a.message for a in result.alerts]
    drifted = {c.column for c in result.drift.drifted}
    assert {"grade_mean_6w", "grade_mean_change"} & drifted
    assert not _rules(result, "school:"), "a grading change is not an attendance recording change"


def _shuffle_outcomes(extract: Path, seed: int = 0) -> None:
    """Each dropout moved to another pupil enrolled that year: outcomes no longer follow risk.
    (Shuffled across the district: within a school, the schools' different dropout rates would
    still follow the risk of their pupils.)"""
    enrolled = enrolled_schools(extract, PAST.year - 1)["pupil_id"].to_numpy()
    mapping = dict(zip(enrolled, np.random.default_rng(seed).permutation(enrolled), strict=True))
    outcomes = pd.read_parquet(extract / "outcomes.parquet")
    outcomes["pupil_id"] = outcomes["pupil_id"].map(lambda p: mapping.get(p, p))
    outcomes.drop_duplicates("pupil_id").to_parquet(extract / "outcomes.parquet", index=False)


def test_outcomes_that_no_longer_follow_the_risk_fail_the_delayed_label_check(
    monitored: Monitored, unchanged: MonitoringResult, tmp_path: Path
) -> None:
    honest = altered_copy(monitored, tmp_path / "honest")
    past = [scored(monitored, honest, PAST, tmp_path / "honest")]
    current = scored(monitored, honest, CURRENT, tmp_path / "honest")
    control = run_monitor(monitored, honest, tmp_path / "honest", past=past, current=current)
    assert control.outcomes is not None and control.outcomes.as_of == [PAST]
    assert "precision_drop" not in {a.rule for a in control.alerts}, [a.message for a in control.alerts]
    figures = control.outcomes.figures["precision_at_10pct"]
    assert figures.lower <= figures.value <= figures.upper
    (rate,) = control.outcomes.base_rates  # the past batch's observed rate against its mean risk
    assert rate.as_of == PAST and rate.observed == control.outcomes.dropouts / rate.snapshots
    assert control.outcomes.base_rate_note is None

    shuffled = altered_copy(monitored, tmp_path / "shuffled", _shuffle_outcomes)
    result = run_monitor(monitored, shuffled, tmp_path / "shuffled", past=past, current=current)
    assert result.outcomes is not None
    assert "precision_drop" in {a.rule for a in result.alerts}, (result.outcomes.figures, result.outcomes.test_fold)
    alert = next(a for a in result.alerts if a.rule == "precision_drop")
    assert alert.message.startswith("Réentraînement recommandé : précision à 10 %")
    assert result.outcomes.test_fold["precision_at_10pct"] > alert.figure


def test_the_summary_json_carries_the_verdict_and_no_identifier(unchanged: MonitoringResult) -> None:
    from monitoring import summary

    text = json.dumps(summary(unchanged), ensure_ascii=False)
    assert json.loads(text)["verdict"] == "ok"
    assert not any(len(token) == 20 and all(c in "0123456789abcdef" for c in token) for token in text.split('"'))


def _more_dropouts(extract: Path, share: float = 0.08) -> None:
    """A share of the pupils enrolled at the past batch, who stayed, drop out within its horizon."""
    enrolled = enrolled_schools(extract, PAST.year - 1)["pupil_id"]
    outcomes = pd.read_parquet(extract / "outcomes.parquet")
    stayed = enrolled[~enrolled.isin(outcomes["pupil_id"])]
    leaving = stayed.sample(frac=share, random_state=0)
    event = pd.Timestamp(PAST) + pd.Timedelta(days=100)
    added = pd.DataFrame({"pupil_id": leaving, "event_date": [event.date()] * len(leaving)})
    pd.concat([outcomes, added.astype(outcomes.dtypes.to_dict())], ignore_index=True).to_parquet(
        extract / "outcomes.parquet", index=False
    )


def test_a_rising_dropout_rate_is_reported_by_batch_as_a_base_rate_shift(monitored: Monitored, tmp_path: Path) -> None:
    """Issue 25: the delayed-label check shows each batch's observed rate against its mean risk
    and says, in French, when it lies outside the rates of the dates the version learnt from."""
    risen = altered_copy(monitored, tmp_path / "risen", _more_dropouts)
    past = [scored(monitored, risen, PAST, tmp_path / "risen")]
    result = run_monitor(monitored, risen, tmp_path / "risen", past=past)
    assert result.outcomes is not None
    (rate,) = result.outcomes.base_rates
    assert rate.observed > rate.predicted + 0.05
    assert result.outcomes.base_rate_note is not None
    assert result.outcomes.base_rate_note.startswith("Le taux de décrochage observé sur ces lots")
    assert "au-dessus de la plage des dates d'apprentissage" in result.outcomes.base_rate_note
