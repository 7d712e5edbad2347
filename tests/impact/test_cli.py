"""``vigie impact`` end to end on the served test district: the champion's kept batches, plans in
the service database found from the settings, outcomes of the validated extract; impact.json, the
French report and an MLflow run tagged with the model version."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import mlflow
import pandas as pd
from typer.testing import CliRunner

from serving.api.access_log import make_engine, migrate
from serving.api.plans import PlanIn, PlanStore
from serving.batch import TierConfig, append_history, history_dates, score_frame
from tests.serving.conftest import ServedDistrict, served_district  # noqa: F401 - the fixture
from training.train import FeatureSet, TrainingResult
from vigie.cli import app


def test_vigie_impact_on_the_served_district(
    served_district: ServedDistrict,  # noqa: F811
    feature_set: FeatureSet,
    trained: TrainingResult,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    shutil.copytree(served_district.data_dir / "score_history", data / "score_history")
    history = data / "score_history"
    env = {"VIGIE_DATA_DIR": str(data), "MLFLOW_TRACKING_URI": served_district.tracking_uri}
    validated = served_district.names_dir.parent / "validated"
    runner = CliRunner()
    # The served batches are recent: their 12 months of outcomes are not known yet, and it says so.
    too_early = runner.invoke(
        app, ["impact", "--data", str(validated), "--from", "2000-01-01", "--to", "2100-01-01"], env=env
    )
    assert too_early.exit_code != 0 and "whose horizon has closed" in too_early.output
    # A batch of a year whose outcomes are known, as 'vigie score' keeps it.
    frame = feature_set.frame
    day = sorted(d for d in frame.loc[frame["label"].notna(), "as_of"].unique())[-1]
    rows = frame[frame["as_of"] == day].reset_index(drop=True)
    append_history(score_frame(rows, trained.model, "vigie-dropout/1", TierConfig()), history)
    assert day in history_dates(history, "vigie-dropout/1")
    url = f"sqlite:///{data / 'service' / 'access_log.db'}"
    (data / "service").mkdir()
    migrate(url)
    store = PlanStore(make_engine(url))
    scores = pd.read_parquet(next((history / f"as_of={day.isoformat()}").glob("model_version=*.parquet")))
    flagged = scores[scores["tier"] == "high"].head(15)
    for pupil_id, school_id in zip(flagged["pupil_id"], flagged["school_id"], strict=True):
        store.create(
            str(pupil_id), str(school_id), PlanIn(action="entretien_cpe", owner="cpe"), "t", day + timedelta(days=3)
        )
    backwards = runner.invoke(
        app, ["impact", "--data", str(validated), "--from", "2024-01-01", "--to", "2023-01-01"], env=env
    )
    assert backwards.exit_code != 0 and "before --from" in backwards.output
    done = runner.invoke(
        app, ["impact", "--data", str(validated), "--from", "2000-01-01", "--to", "2100-01-01"], env=env
    )
    assert done.exit_code == 0, done.output
    assert "Verdict : Échantillon trop petit pour conclure" in done.output  # a test district is small
    written = json.loads((data / "impact" / "impact.json").read_text(encoding="utf-8"))
    assert written["model_version"] == "vigie-dropout/1" and written["from"] == "2000-01-01"
    first_stage = next(e for e in written["estimates"] if e["name"] == "flag_to_plan" and e["cut"] == "high")
    assert first_stage["n_right"] + first_stage["n_left"] > 0
    page = (data / "impact" / "impact.html").read_text(encoding="utf-8")
    assert "Ce que ce résultat ne montre pas" in page and str(flagged["pupil_id"].iloc[0]) not in page
    mlflow.set_tracking_uri(served_district.tracking_uri)
    runs = mlflow.search_runs(experiment_names=["vigie-impact"], output_format="pandas")
    assert (runs["tags.model_version"] == "vigie-dropout/1").any()


def test_vigie_impact_design_stagger_on_the_served_district(
    served_district: ServedDistrict,  # noqa: F811
    feature_set: FeatureSet,
    trained: TrainingResult,
    tmp_path: Path,
) -> None:
    """A closed batch and a stored draw opening half the schools that school year: the comparison runs end to
    end (impact.json with design 'stagger', the French report, an MLflow run), in its own folder."""
    from features.school import school_year_of
    from models.stagger import draw_file, draw_stagger, store_draw

    data = tmp_path / "data"
    history = data / "score_history"
    frame = feature_set.frame
    day = sorted(d for d in frame.loc[frame["label"].notna(), "as_of"].unique())[-1]
    rows = frame[frame["as_of"] == day].reset_index(drop=True)
    append_history(score_frame(rows, trained.model, "vigie-dropout/1", TierConfig()), history)
    (data / "service").mkdir()
    migrate(f"sqlite:///{data / 'service' / 'access_log.db'}")  # no plan: the stagger design does not read them
    schools = sorted(rows["school_id"].astype(str).unique())
    year = school_year_of(day)
    store_draw(
        draw_stagger(schools, first_year=year, waves=2, seed=1, drawn_by="test"), draw_file(data / "stagger", year)
    )
    env = {"VIGIE_DATA_DIR": str(data), "MLFLOW_TRACKING_URI": served_district.tracking_uri}
    validated = served_district.names_dir.parent / "validated"
    args = ["impact", "--data", str(validated), "--from", "2000-01-01", "--to", "2100-01-01", "--design", "stagger"]
    done = CliRunner().invoke(app, args, env=env)
    assert done.exit_code == 0, done.output
    assert "Verdict : Échantillon trop petit pour conclure" in done.output  # a handful of schools
    written = json.loads((data / "impact" / "stagger" / "impact.json").read_text(encoding="utf-8"))
    assert written["design"] == "stagger" and written["stagger"]["school_years"] == [year]
    (estimate,) = written["estimates"]
    assert estimate["name"] == "stagger_dropout" and estimate["n_left"] + estimate["n_right"] == len(rows)
    assert not (data / "impact" / "impact.json").exists()  # training's card reads the cut design's file only
    page = (data / "impact" / "stagger" / "impact.html").read_text(encoding="utf-8")
    assert "Ce que ce résultat ne montre pas" in page and str(rows["pupil_id"].iloc[0]) not in page
    mlflow.set_tracking_uri(served_district.tracking_uri)
    runs = mlflow.search_runs(experiment_names=["vigie-impact"], output_format="pandas")
    assert (runs["tags.design"] == "stagger").any()
