"""Monitoring honours the objection register (GDPR art. 21) and counts how often staff overrule
the flags (AI Act art. 14): rates by tier, school and audit group, and an alert past the rule."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from models.judgements import NOT_A_CONCERN
from models.objections import Objections
from monitoring import MonitoringConfig, summary
from monitoring.judgements import disagreement
from tests.monitoring.conftest import CURRENT, Monitored, run_monitor, scored

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("monitoring")]


def _judgements(scores: pd.DataFrame, agree: int, disagree: int) -> pd.DataFrame:
    """``agree`` + ``disagree`` judgements on flagged pupils of the batch (the latest of each)."""
    flagged = scores[scores["tier"] != "low"].head(agree + disagree)
    verdicts = ["accord"] * agree + ["pas_une_inquietude"] * disagree
    reasons = [None] * agree + [next(iter(NOT_A_CONCERN))] * disagree
    return pd.DataFrame({"pupil_id": flagged["pupil_id"].to_numpy(), "tier": flagged["tier"].to_numpy(),
                         "verdict": verdicts, "reason": reasons})  # fmt: skip


def test_monitoring_leaves_out_objected_pupils_and_counts_staff_disagreement(
    monitored: Monitored, tmp_path: Path
) -> None:
    batch = scored(monitored, monitored.validated, CURRENT, tmp_path / "score")
    school = str(batch.scores["school_id"].value_counts().index[0])
    objected = Objections.of(batch.scores.loc[batch.scores["school_id"] == school, "pupil_id"])
    judged = _judgements(batch.scores[batch.scores["school_id"] != school], agree=10, disagree=15)
    on_objected = _judgements(batch.scores[batch.scores["school_id"] == school], agree=0, disagree=5)
    current = replace(batch, objections=objected, judgements=pd.concat([judged, on_objected], ignore_index=True))
    result = run_monitor(monitored, monitored.validated, tmp_path, current=current)

    assert result.drift.current_rows == len(batch.scores) - len(objected)  # the school's pupils are gone...
    assert school not in {s.name for s in result.schools}  # ...from the batch and from the training snapshots
    staff = result.disagreement
    assert staff is not None
    assert (staff.overall.judged, staff.overall.disagreed) == (25, 15)  # judgements on objected pupils left out
    assert staff.overall.rate == pytest.approx(0.6)
    tiers = {r.group: r for r in staff.slices if r.slice == "tier"}
    expected = judged.groupby("tier")["verdict"].apply(lambda v: int((v != "accord").sum())).to_dict()
    assert {t: r.disagreed for t, r in tiers.items()} == expected
    assert {r.slice for r in staff.slices} >= {"tier", "school", "sex"}
    assert all(r.rate is None for r in staff.slices if r.judged < MonitoringConfig().alerts.min_judgements)
    alert = next(a for a in result.alerts if a.rule == "staff_disagreement")
    assert alert.action == "review_with_staff" and "15 sur 25" in alert.message
    verdict = summary(result)
    assert verdict["staff_judgements"]["overall"]["disagreed"] == 15


def test_disagreement_below_the_rule_raises_no_alert(monitored: Monitored, tmp_path: Path) -> None:
    """The counting alone (no Evidently run): 4 of 25 overruled stays under the 50 % rule."""
    batch = scored(monitored, monitored.validated, CURRENT, tmp_path)
    judged = _judgements(batch.scores, agree=21, disagree=4)
    groups = pd.DataFrame({"sex": ["F"] * len(batch.scores)})
    result = disagreement(judged, batch.scores, groups, MonitoringConfig())
    assert result.overall.rate == pytest.approx(4 / 25)
    from monitoring.judgements import disagreement_alerts

    assert disagreement_alerts(result, MonitoringConfig()) == []
