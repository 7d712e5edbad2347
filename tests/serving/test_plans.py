"""Follow-up plans: open, review and close through the API, the no-plan and overdue views, the
access rules and the access log, retention, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from features import french
from serving.api.access_log import make_engine, migrate
from serving.api.plans import PlanIn, PlanRow, PlanStore, PlanUpdate
from serving.app import create_app
from serving.batch import history_dates
from serving.followup_report import followup_report, summary_lines
from tests.serving.conftest import ServedDistrict, Service, service_settings
from vigie.cli import app

TODAY = date(2024, 6, 20)  # the service's "today" in these tests: after the served batch of 2024-06-15


@pytest.fixture
def plans_service(served_district: ServedDistrict, database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service on SQLite or PostgreSQL, its "today" fixed, no plan yet."""
    migrate(database_url)
    with Session(make_engine(database_url)) as session, session.begin():
        session.execute(delete(PlanRow))
    settings = service_settings(served_district, tmp_path, database_url=database_url, reference_date=TODAY)
    with TestClient(create_app(settings, served_district.data_dir), raise_server_exceptions=False) as client:
        yield Service(client, settings, served_district)


def _log(service: Service) -> list[dict[str, object]]:
    day = datetime.now(UTC).date().isoformat()
    answer = service.client.get(f"/api/v1/access-log?from={day}&to={day}&format=json", headers=service.headers("admin"))
    return list(answer.json())


def test_open_review_and_close_a_plan(plans_service: Service) -> None:
    service, pupil = plans_service, plans_service.district.own_pupil
    staff = service.headers("staff")
    assert service.client.get(f"/api/v1/pupils/{pupil}/plans", headers=staff).json() == []
    opened = service.client.post(
        f"/api/v1/pupils/{pupil}/plans", json={"action": "entretien_cpe", "owner": "cpe"}, headers=staff
    )
    assert opened.status_code == 201, opened.text
    plan = opened.json()
    assert plan["start_date"] == TODAY.isoformat()
    assert plan["review_date"] == (TODAY + timedelta(weeks=6)).isoformat()  # six weeks by default
    assert plan["status"] == "ouvert" and plan["outcome"] is None and not plan["overdue"]

    reviewed = service.client.patch(f"/api/v1/plans/{plan['id']}", json={"status": "en_cours"}, headers=staff)
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "en_cours"
    before_start = (TODAY - timedelta(days=1)).isoformat()  # a review never comes before the plan's start
    backwards = service.client.patch(f"/api/v1/plans/{plan['id']}", json={"review_date": before_start}, headers=staff)
    assert backwards.status_code == 422 and backwards.json()["detail"][0]["loc"] == ["body", "review_date"]
    assert (
        service.client.get(f"/api/v1/pupils/{pupil}/plans", headers=staff).json()[0]["review_date"]
        == (TODAY + timedelta(weeks=6)).isoformat()
    )  # unchanged
    unfinished = service.client.patch(f"/api/v1/plans/{plan['id']}", json={"status": "clos"}, headers=staff)
    assert unfinished.status_code == 422 and "outcome" in unfinished.text
    closed = service.client.patch(
        f"/api/v1/plans/{plan['id']}", json={"status": "clos", "outcome": "maintien"}, headers=staff
    )
    assert closed.json()["status"] == "clos" and closed.json()["closed_on"] == TODAY.isoformat()
    listed = service.client.get(f"/api/v1/pupils/{pupil}/plans", headers=staff).json()
    assert [(p["action"], p["status"], p["outcome"]) for p in listed] == [("entretien_cpe", "clos", "maintien")]

    entries = {(e["endpoint"], e["status"], e["pupil_id"]) for e in _log(service)}
    for endpoint, status in (
        ("POST /api/v1/pupils/{pupil_id}/plans", 201),
        ("PATCH /api/v1/plans/{plan_id}", 200),
        ("GET /api/v1/pupils/{pupil_id}/plans", 200),
    ):
        assert (endpoint, status, pupil) in entries, endpoint


def test_only_fixed_lists_and_no_free_text(plans_service: Service) -> None:
    service, pupil = plans_service, plans_service.district.own_pupil
    url, staff = f"/api/v1/pupils/{pupil}/plans", plans_service.headers("staff")
    for body, field in (
        ({"action": "entretien_cpe", "owner": "cpe", "note": "difficultés familiales"}, "note"),
        ({"action": "therapie", "owner": "cpe"}, "action"),
        ({"action": "tutorat", "owner": "M. Dupont"}, "owner"),
        ({"action": "tutorat", "owner": "cpe", "start_date": "2024-06-01", "review_date": "2024-05-01"}, "review_date"),
    ):
        refused = service.client.post(url, json=body, headers=staff)
        assert refused.status_code == 422 and field in refused.text, body
        assert "difficultés" not in refused.text and "Dupont" not in refused.text  # never echoed


def test_another_schools_staff_can_neither_see_nor_write(plans_service: Service) -> None:
    service, district = plans_service, plans_service.district
    mine = service.headers("staff")
    plan = service.client.post(
        f"/api/v1/pupils/{district.own_pupil}/plans", json={"action": "tutorat", "owner": "professeur_principal"},
        headers=mine,
    ).json()  # fmt: skip
    for role, schools in (("staff", [district.other_school]), ("reviewer", None), ("admin", None)):
        other = service.headers(role, schools)
        assert service.client.get(f"/api/v1/pupils/{district.own_pupil}/plans", headers=other).status_code == 404
        written = service.client.post(
            f"/api/v1/pupils/{district.own_pupil}/plans", json={"action": "autre", "owner": "cpe"}, headers=other
        )
        assert written.status_code == 404
        changed = service.client.patch(f"/api/v1/plans/{plan['id']}", json={"status": "en_cours"}, headers=other)
        assert changed.status_code == 404
        assert service.client.get(f"/api/v1/schools/{district.own_school}/plans", headers=other).status_code == 404
    assert len(service.client.get(f"/api/v1/pupils/{district.own_pupil}/plans", headers=mine).json()) == 1
    refused = {(e["endpoint"], e["status"]) for e in _log(service) if e["role"] != "admin" and e["status"] == 404}
    assert ("PATCH /api/v1/plans/{plan_id}", 404) in refused


def test_the_school_view_shows_high_tier_pupils_without_a_plan_and_overdue_reviews(plans_service: Service) -> None:
    service, district = plans_service, plans_service.district
    staff = service.headers("staff")
    view = service.client.get(f"/api/v1/schools/{district.own_school}/plans", headers=staff).json()
    high = [row["pupil_id"] for row in view["high_without_plan"]]
    assert district.own_pupil in high and all(r["tier"] == "high" for r in view["high_without_plan"])
    assert view["overdue"] == []
    service.client.post(
        f"/api/v1/pupils/{district.own_pupil}/plans",
        json={"action": "saisine_gpds", "owner": "gpds", "start_date": "2024-04-01", "review_date": "2024-05-13"},
        headers=staff,
    )
    view = service.client.get(f"/api/v1/schools/{district.own_school}/plans", headers=staff).json()
    assert district.own_pupil not in [row["pupil_id"] for row in view["high_without_plan"]]
    assert [(p["pupil_id"], p["overdue"]) for p in view["overdue"]] == [(district.own_pupil, True)]


def test_retention_purges_exactly_the_closed_plans_that_are_due(database_url: str) -> None:
    """Default: kept to the end of the school year after the one of closing."""
    migrate(database_url)
    store = PlanStore(make_engine(database_url))
    with Session(store.engine) as session, session.begin():
        session.execute(delete(PlanRow))
    closings = {
        "closed 2022-06-30 (due after 2023-08-31)": date(2022, 6, 30),
        "closed 2022-09-01 (kept to 2024-08-31)": date(2022, 9, 1),
        "closed 2023-08-31 (kept to 2024-08-31)": date(2023, 8, 31),
        "closed 2021-10-01 (due after 2023-08-31)": date(2021, 10, 1),
    }
    for who, closed_on in closings.items():
        plan = store.create("ab" * 10, "0750001A", PlanIn(action="autre", owner="cpe"), who, closed_on)
        store.update(plan.id, PlanUpdate(status="clos", outcome="sans_objet"), who, closed_on)
    store.create("cd" * 10, "0750001A", PlanIn(action="autre", owner="cpe"), "still open", date(2019, 1, 1))
    assert store.purge(1, today=date(2023, 8, 31)) == 0  # the last day of retention keeps them
    assert store.purge(1, today=date(2023, 9, 1)) == 2
    kept = sorted(row.created_by for row in store.all_plans())
    assert kept == ["closed 2022-09-01 (kept to 2024-08-31)", "closed 2023-08-31 (kept to 2024-08-31)", "still open"]
    assert store.purge(1, today=date(2024, 9, 1)) == 2 and store.count() == 1  # the open plan is never purged


def test_the_followup_report_withholds_small_cells(served_district: ServedDistrict, tmp_path: Path) -> None:
    history = served_district.data_dir / "score_history"
    days = history_dates(history, "vigie-dropout/1")
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    migrate(url)
    store = PlanStore(make_engine(url))
    scores = pd.read_parquet(next((history / f"as_of={days[-1].isoformat()}").glob("model_version=*.parquet")))
    flagged = scores.loc[scores["tier"] == "high"].sort_values("pupil_id")
    planned = flagged.head(12)  # 12 pupils with a plan, in a few schools
    for pupil_id, school_id in zip(planned["pupil_id"], planned["school_id"], strict=True):
        store.create(str(pupil_id), str(school_id), PlanIn(action="entretien_cpe", owner="cpe"), "t", days[-1])
    outcomes = pd.DataFrame(
        {"pupil_id": flagged["pupil_id"].head(3), "event_date": [days[-1] + timedelta(days=30)] * 3}
    )
    year = f"{days[-1].year - (days[-1].month < 9)}-{days[-1].year + (days[-1].month >= 9)}"
    report = followup_report(year, history, store, outcomes)
    overall = report.figures[0]
    assert overall.scope == "ensemble" and overall.flagged is not None and overall.flagged >= 22
    assert overall.with_plan.events == 12 and overall.with_plan.lower is not None
    assert overall.dropout_with_plan.value is None and overall.dropout_with_plan.events is None  # 3 dropouts < 10
    assert overall.kinds["entretien_cpe"] == 12 and overall.kinds["tutorat"] is None  # 0 < 10: withheld
    for school in report.figures[1:]:
        planned_here = int((planned["school_id"] == school.scope).sum())
        if planned_here < 10:
            assert school.with_plan.value is None and school.dropout_with_plan.pupils is None
    assert not report.outcomes_complete  # 12 months after the flags are not all known
    said = summary_lines(report)  # what the command prints: the district's figures, withheld as in the report
    assert f"élèves signalés en risque élevé : {french.integer(overall.flagged)}." in said[0]
    assert said[1].startswith(f"Avec un plan de suivi : {french.percent(12 / overall.flagged, 1)} [")
    assert f"(12 / {french.integer(overall.flagged)})" in said[1]
    assert f"avec un plan {french.SUPPRESSED}, sans plan " in said[2] and said[-1].startswith("Résultats partiels")


def test_the_followup_commands(served_district: ServedDistrict, tmp_path: Path) -> None:
    env = {"VIGIE_DATA_DIR": str(tmp_path / "data"), "MLFLOW_TRACKING_URI": served_district.tracking_uri}
    shutil.copytree(served_district.data_dir / "score_history", tmp_path / "data" / "score_history")
    runner = CliRunner()
    seeded = runner.invoke(app, ["followup", "seed-demo", "--school", served_district.own_school], env=env)
    assert seeded.exit_code == 0, seeded.output
    again = runner.invoke(app, ["followup", "seed-demo", "--school", served_district.own_school], env=env)
    assert again.exit_code == 0
    store = PlanStore(make_engine(f"sqlite:///{tmp_path / 'data' / 'service' / 'access_log.db'}"))
    assert store.count() == 5  # seeding twice gives the same five plans
    validated = served_district.names_dir.parent / "validated"
    report = runner.invoke(app, ["followup-report", "--year", "2023-2024", "--data", str(validated)], env=env)
    assert report.exit_code == 0, report.output
    assert "Année scolaire 2023-2024 : " in report.output and "(descriptif, pas causal)" in report.output
    written = json.loads((tmp_path / "data" / "followup" / "suivi_2023-2024.json").read_text(encoding="utf-8"))
    assert written["figures"][0]["scope"] == "ensemble"
    page = (tmp_path / "data" / "followup" / "suivi_2023-2024.html").read_text(encoding="utf-8")
    assert "Descriptif, pas causal" in page and "pupil_id" not in page
    batch = written["batches"][0]  # ISO for machines, French for readers
    assert f"{french.day(batch['as_of'])} ({batch['model_version']})" in page
    for bad in ("2024", "2024-2026"):
        refused = runner.invoke(app, ["followup-report", "--year", bad, "--data", str(validated)], env=env)
        assert refused.exit_code == 2 and "--year" in refused.output and "2024-2025" in refused.output
    purged = runner.invoke(app, ["followup", "purge"], env={**env, "VIGIE_REFERENCE_DATE": "2030-01-01"})
    assert purged.exit_code == 0 and "1 closed plan past retention deleted" in purged.output


def test_implausible_dates_are_refused_naming_the_field(plans_service: Service) -> None:
    service, pupil = plans_service, plans_service.district.own_pupil
    refused = service.client.post(
        f"/api/v1/pupils/{pupil}/plans", json={"action": "tutorat", "owner": "cpe", "start_date": "2052-01-01"},
        headers=service.headers("staff"),
    )  # fmt: skip
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "start_date"]


def test_a_plan_that_cannot_be_kept_is_a_503_not_a_500(plans_service: Service, tmp_path: Path) -> None:
    service, pupil = plans_service, plans_service.district.own_pupil
    app_state = service.client.app.state  # type: ignore[attr-defined]
    working = app_state.plans
    app_state.plans = PlanStore(make_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}"))  # no such table
    try:
        answer = service.client.post(
            f"/api/v1/pupils/{pupil}/plans",
            json={"action": "tutorat", "owner": "cpe"},
            headers=service.headers("staff"),
        )
    finally:
        app_state.plans = working
    assert answer.status_code == 503 and "indisponible" in answer.json()["detail"]


def test_a_review_a_plan_rule_refuses_is_traced_as_refused_and_writes_nothing(plans_service: Service) -> None:
    """Once a plan is reached, every answer about it is an access-log entry, the refusals of its
    rules (a review before the start, a date more than two years away) included."""
    service, pupil = plans_service, plans_service.district.own_pupil
    staff = service.headers("staff")
    plan = service.client.post(
        f"/api/v1/pupils/{pupil}/plans", json={"action": "tutorat", "owner": "cpe"}, headers=staff
    ).json()

    def patches() -> list[dict[str, object]]:  # the database may hold earlier tests' entries (PostgreSQL)
        return [e for e in _log(service) if e["endpoint"] == "PATCH /api/v1/plans/{plan_id}"]

    earlier = len(patches())
    for review_date, field in (((TODAY - timedelta(days=1)).isoformat(), "review_date"), ("2052-01-01", "review_date")):
        refused = service.client.patch(f"/api/v1/plans/{plan['id']}", json={"review_date": review_date}, headers=staff)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", field], review_date
    traced = patches()[earlier:]
    assert [(e["status"], e["pupil_id"], e["school_id"]) for e in traced] == [(422, pupil, plan["school_id"])] * 2
    kept = service.client.get(f"/api/v1/pupils/{pupil}/plans", headers=staff).json()
    assert kept[0]["review_date"] == plan["review_date"]  # nothing was written
