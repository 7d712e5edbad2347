"""The fairness summary: what an audit publishes and the service reads, version-checked on read."""

from __future__ import annotations

import json

import pytest

from features.ingest import ContractError
from models.fairness_summary import FAIRNESS_SUMMARY_VERSION, FairnessSummary, parse_fairness_summary
from models.operating_point import OperatingPoint


def _summary() -> FairnessSummary:
    return FairnessSummary(
        model="vigie-dropout/1",
        as_of=["2023-06-15"],
        data_hash="abc",
        synthetic_data=True,
        generated_at="2026-12-06T22:00:00+00:00",
        config={"n_boot": 40},
        operating_point=OperatingPoint(high=0.15, horizon_days=180),
        gate={"passed": False, "judged": ["écart ≤ 0,1"], "breaches": ["écart 0,2 > 0,1"]},
        audit={
            "capacity": 0.15,
            "snapshots": 10,
            "pupils": 5,
            "positives": 2,
            "bootstrap_samples": 40,
            "confidence": 0.9,
            "min_cell": 30,
            "suppressed_marker": "masqué",
            "alerts": ["peu d'élèves"],
        },
    )


def test_a_written_summary_reads_back_the_same() -> None:
    summary = _summary()
    stored = json.loads(summary.as_json())
    assert stored["schema_version"] == FAIRNESS_SUMMARY_VERSION
    assert parse_fairness_summary(stored, "report.json") == summary
    assert summary.operating_point.high_group_fr() == "les 15 % d'élèves au risque le plus élevé"


@pytest.mark.parametrize("version", [None, 2])
def test_an_unknown_version_is_refused_naming_the_file(version: int | None) -> None:
    stored = json.loads(_summary().as_json())
    if version is None:
        del stored["schema_version"]
    else:
        stored["schema_version"] = version
    with pytest.raises(ContractError, match=r"run 7/report\.json: fairness summary version"):
        parse_fairness_summary(stored, "run 7/report.json")


def test_a_summary_missing_what_the_page_shows_is_refused() -> None:
    stored = json.loads(_summary().as_json())
    del stored["gate"]
    with pytest.raises(ContractError, match="not a valid fairness summary"):
        parse_fairness_summary(stored, "report.json")
