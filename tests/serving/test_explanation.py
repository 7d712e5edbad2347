"""The explanation a family may ask for (CRPA L311-3-1, R311-3-1-2; GDPR 15(1)(h), 22) and why a
risk changed, on a real model trained on the synthetic district and its two real score batches."""

from __future__ import annotations

import html
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.catalog import AUDIT_COLUMNS, FEATURES, SOURCE_TABLES
from models.matrix import feature_matrix
from models.reasons import SIGNALS
from serving.api import Role
from serving.api.service.explanation import change_of
from serving.api.state import Serving, load_batch
from serving.app import create_app
from serving.batch import history_dates, read_history_batch
from tests.serving.conftest import ServedDistrict, Service, service_settings, token
from tests.serving.test_pages import _signed_in

pytestmark = pytest.mark.integration
LABELS = {f.name: f.label_fr for f in FEATURES}
#: How the audit attributes would read in French: none may appear in an explanation.
AUDIT_WORDS_FR = ("boursi", "bourse", "handicap", "PAP", "PPS", "ULIS", "REP", "allophone", "sexe", "fille", "garçon")


def _served(service: Service) -> Serving:
    current = service.client.app.state.serving.current  # type: ignore[attr-defined]
    assert current is not None
    return current


def _batch_inputs(d: ServedDistrict, served: Serving, previous: bool = False) -> pd.DataFrame:
    """The kept model inputs of the served batch (or the one before), by pupil."""
    days = history_dates(d.data_dir / "score_history", served.model.label)
    _, inputs = read_history_batch(d.data_dir / "score_history", days[-2 if previous else -1], served.model.label)
    return inputs.set_index("pupil_id")


def _margin(served: Serving, inputs: pd.DataFrame, pupil: str) -> float:
    names = list(served.model.estimator.feature_names_in_)
    return float(served.model.estimator.decision_function(feature_matrix(inputs.loc[[pupil]], names))[0])


@pytest.mark.parametrize("which", ["own_pupil", "own_low_pupil"], ids=["high tier", "low tier"])
def test_the_explanation_lists_every_input_adding_up_to_the_score(service: Service, which: str) -> None:
    d = service.district
    pupil = getattr(d, which)
    answer = service.client.get(f"/api/v1/pupils/{pupil}/explanation", headers=service.headers("staff"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    served = _served(service)
    names = list(served.model.estimator.feature_names_in_)
    inputs = body["inputs"]
    assert sorted(i["feature"] for i in inputs) == sorted(names)  # every model input, each once
    assert all(i["label"] == LABELS[i["feature"]] and i["text"] for i in inputs)
    contributions = [i["contribution"] for i in inputs]
    assert body["scale"] == "log-odds"
    assert body["base_value"] + sum(contributions) == pytest.approx(body["score"], abs=1e-9)
    # the score on the contribution scale is the model's own raw margin on the inputs it was scored on
    kept = _batch_inputs(d, served)
    assert body["score"] == pytest.approx(_margin(served, kept, pupil), abs=1e-9)
    assert body["raw_probability"] == pytest.approx(1 / (1 + np.exp(-body["score"])))
    detail = service.client.get(f"/api/v1/pupils/{pupil}", headers=service.headers("staff")).json()
    assert (body["risk"], body["tier"], body["as_of"]) == (detail["risk"], detail["tier"], detail["as_of"])
    assert np.all(np.diff(np.abs(contributions)) <= 1e-12)  # the weightiest first
    # values as the batch kept them (categories as their codes, missing as null)
    for item in inputs:
        kept_value = kept.loc[pupil, item["feature"]]
        if pd.isna(kept_value):
            assert item["value"] is None
        elif isinstance(item["value"], str):
            assert item["value"] == str(kept_value)
        else:
            assert item["value"] == pytest.approx(float(kept_value))
    # the reasons the pupil page shows are signals of this list, with the same summed contributions
    by_feature = {i["feature"]: i["contribution"] for i in inputs}
    for reason in detail["reasons"]:
        if reason["signal"] in SIGNALS and detail["reasons_source"] == "batch":
            members = [f for f in SIGNALS[reason["signal"]] if f in by_feature]
            assert sum(by_feature[f] for f in members) >= reason["contribution"] - 1e-9


def test_the_explanation_names_the_tables_and_the_operating_point(service: Service) -> None:
    d = service.district
    body = service.client.get(f"/api/v1/pupils/{d.own_pupil}/explanation", headers=service.headers("staff")).json()
    served = _served(service)
    tables = {t["table"]: t for t in body["tables"]}
    assert set(tables) == {"pupils", "enrolments", "attendance", "grades", "incidents", "calendar"}
    assert all(t["source"] and t["content"] and t["inputs"] for t in tables.values())
    assert {t.name: t.source_fr for t in SOURCE_TABLES if t.name in tables} == {
        name: t["source"] for name, t in tables.items()
    }
    covered = {label for t in tables.values() for label in t["inputs"]}
    assert covered == {LABELS[f] for f in served.model.estimator.feature_names_in_}
    point = served.model.operating_point
    assert point.describe_fr() in body["tiers_fr"]  # tiers from the operating point, never hard-coded
    assert point.within_fr() in body["contribution_fr"]
    assert "aucune décision" in body["contribution_fr"]
    assert "L311-3-1" in body["legal_basis"] and "R311-3-1-2" in body["legal_basis"]
    assert len(body["operations_fr"]) >= 5 and any(point.describe_fr() in op for op in body["operations_fr"])


def test_no_audit_attribute_is_ever_on_an_explanation(service: Service) -> None:
    d = service.district
    for pupil in (d.own_pupil, d.own_low_pupil):
        text = service.client.get(f"/api/v1/pupils/{pupil}/explanation", headers=service.headers("staff")).text
        for column in AUDIT_COLUMNS:
            assert column not in text
        loaded = json.loads(text)
        words = " ".join(str(v) for v in loaded.values()) + json.dumps(loaded["inputs"], ensure_ascii=False)
        for word in AUDIT_WORDS_FR:
            assert f" {word}" not in words, word


@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("endpoint", ["explanation", "change"])
def test_outside_the_school_both_answer_404_as_for_an_unknown_pupil(service: Service, role: str, endpoint: str) -> None:
    d = service.district
    headers = service.headers(role)
    unknown = service.client.get(f"/api/v1/pupils/{'0' * 20}/{endpoint}", headers=headers)
    other = service.client.get(f"/api/v1/pupils/{d.other_pupil}/{endpoint}", headers=headers)
    own = service.client.get(f"/api/v1/pupils/{d.own_pupil}/{endpoint}", headers=headers)
    assert unknown.status_code == other.status_code == 404 and unknown.json() == other.json()
    assert own.status_code == (200 if role == "staff" else 404)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_issuing_an_explanation_is_written_to_the_access_log(
    served_district: ServedDistrict, tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}" if database == "sqlite" else request.getfixturevalue("postgres").url
    settings = service_settings(served_district, tmp_path, database_url=url)
    d = served_district
    with TestClient(create_app(settings, d.data_dir), raise_server_exceptions=False) as client:
        staff = {"Authorization": f"Bearer {token(settings, 'staff', [d.own_school])}"}
        assert client.get(f"/api/v1/pupils/{d.own_pupil}/explanation", headers=staff).status_code == 200
        assert client.get(f"/api/v1/pupils/{d.other_pupil}/explanation", headers=staff).status_code == 404
        assert client.get(f"/api/v1/pupils/{d.own_pupil}/change", headers=staff).status_code == 200
        admin = {"Authorization": f"Bearer {token(settings, 'admin')}"}
        today = date.today().isoformat()
        log = client.get(f"/api/v1/access-log?from={today}&to={today}&format=json", headers=admin).json()
    issued = {(e["endpoint"], e["pupil_id"], e["school_id"], e["status"]) for e in log}
    assert ("GET /api/v1/pupils/{pupil_id}/explanation", d.own_pupil, d.own_school, 200) in issued
    assert ("GET /api/v1/pupils/{pupil_id}/explanation", d.other_pupil, None, 404) in issued
    assert ("GET /api/v1/pupils/{pupil_id}/change", d.own_pupil, d.own_school, 200) in issued


def _change(service: Service, pupil: str) -> dict[str, Any]:
    answer = service.client.get(f"/api/v1/pupils/{pupil}/change", headers=service.headers("staff"))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_change_adds_up_to_the_change_of_the_score(service: Service) -> None:
    d, served = service.district, _served(service)
    batch = served.batch
    moved = [p for p in batch.by_school[d.own_school] if batch.change[p] in ("up", "down", "new_high")][:3]
    assert moved, "the two batches move no risk in the school"
    previous_inputs = _batch_inputs(d, served, previous=True)
    for position in [*moved, batch.position(d.own_pupil)]:
        pupil = str(batch.index[position])
        body = _change(service, pupil)
        assert body["explained"] and body["why_not"] is None
        detail = body["detail"]
        assert sum(s["contribution_change"] for s in detail["signals"]) == pytest.approx(detail["score_change"])
        assert detail["score_change"] == pytest.approx(detail["score"] - detail["previous_score"])
        for signal in detail["signals"]:
            assert sum(i["contribution_change"] for i in signal["inputs"]) == pytest.approx(
                signal["contribution_change"]
            )
        # both raw scores are the model's own margins, on each batch's kept inputs
        assert detail["previous_score"] == pytest.approx(_margin(served, previous_inputs, pupil), abs=1e-9)
        explanation = service.client.get(f"/api/v1/pupils/{pupil}/explanation", headers=service.headers("staff"))
        assert detail["score"] == pytest.approx(explanation.json()["score"], abs=1e-9)
        # the direction of the change agrees with the risk staff see (calibration keeps the order)
        if body["change"] == "up":
            assert detail["score_change"] > 0 and body["risk"] > body["previous_risk"]
        if body["change"] == "down":
            assert detail["score_change"] < 0 and body["risk"] < body["previous_risk"]
        magnitudes = [abs(s["contribution_change"]) for s in detail["signals"]]
        assert magnitudes == sorted(magnitudes, reverse=True)
        labelled = {i["label"] for s in detail["signals"] for i in s["inputs"]}
        assert labelled == {LABELS[f] for f in served.model.estimator.feature_names_in_}


def test_calibration_keeps_the_order_of_the_raw_scores(service: Service) -> None:
    """What the explanation says of the link between the raw score and the risk holds on the batch."""
    served = _served(service)
    kept = _batch_inputs(service.district, served)
    names = list(served.model.estimator.feature_names_in_)
    margin = served.model.estimator.decision_function(feature_matrix(kept, names))
    risk = served.model.estimator.predict_proba(feature_matrix(kept, names))[:, 1]
    ordered = risk[np.argsort(margin, kind="stable")]
    assert np.all(np.diff(ordered) >= -1e-12)


def test_a_change_is_not_broken_down_across_models_nor_for_a_newcomer(service: Service, tmp_path: Path) -> None:
    d, served = service.district, _served(service)
    history = tmp_path / "score_history"
    shutil.copytree(d.data_dir / "score_history", history)
    older = sorted(history.glob("as_of=*"))[0]
    for path in older.rglob("model_version=*.parquet"):  # the earlier batch, as if another version scored it
        path.rename(path.with_name("model_version=vigie-dropout_999.parquet"))
    for path in older.glob("model_version=*.json"):
        path.rename(path.with_name("model_version=vigie-dropout_999.json"))
    batch = load_batch(history, served.model.label, served.batch.features, 0.05)
    other_model = change_of(Serving(served.model, batch, "", None), int(batch.position(d.own_pupil) or 0))
    assert not other_model.explained and "vigie-dropout/999" in (other_model.why_not or "")
    newcomers = np.flatnonzero(np.isnan(served.batch.previous_risk))
    if newcomers.size:
        first = change_of(served, int(newcomers[0]))
        assert not first.explained and first.change == "first" and first.why_not


def test_the_explanation_page_shows_every_input_and_is_traced(service: Service) -> None:
    d = service.district
    client = _signed_in(service)
    page = client.get(f"/eleves/{d.own_pupil}/explication")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = html.unescape(page.text)
    served = _served(service)
    for feature in served.model.estimator.feature_names_in_:
        assert f'data-input="{feature}"' in text and LABELS[feature] in text
    assert all(f" {word}" not in text for word in AUDIT_WORDS_FR)
    assert f'href="/eleves/{d.own_pupil}/explication"' in html.unescape(client.get(f"/eleves/{d.own_pupil}").text)
    assert client.get(f"/eleves/{d.other_pupil}/explication").status_code == 404
    today = date.today().isoformat()
    log = service.client.get(
        f"/api/v1/access-log?from={today}&to={today}&format=json", headers=service.headers("admin")
    ).json()
    page_route = "GET /eleves/{pupil_id}/explication"
    issued = {(e["pupil_id"], e["status"]) for e in log if e["endpoint"] == page_route}
    assert {(d.own_pupil, 200), (d.other_pupil, 404)} <= issued
