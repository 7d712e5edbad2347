"""Batch scores: the contract's columns and types, tiers by capacity, reasons that add up and say no secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shap

from features.catalog import AUDIT_COLUMNS
from features.ingest import IDENTIFYING_COLUMNS
from models.matrix import encoded_matrix, feature_matrix
from models.metrics import capacity_count, top_k_mask
from models.reasons import CONTEXT, SIGNALS
from serving.batch import (
    SCORE_SCHEMA,
    ScoreBatch,
    TierConfig,
    append_history,
    pupil_history,
    score_frame,
    tiers,
    write_scores,
)
from training.train import FeatureSet, TrainingResult


@pytest.fixture(scope="module")
def snapshot(feature_set: FeatureSet) -> pd.DataFrame:
    frame = feature_set.frame
    last = frame["as_of"].max()
    return frame[frame["as_of"] == last].reset_index(drop=True)


@pytest.fixture(scope="module")
def batch(trained: TrainingResult, snapshot: pd.DataFrame) -> ScoreBatch:
    return score_frame(snapshot, trained.model, "vigie-dropout/7", TierConfig(chunk_rows=1000))


def test_output_follows_the_contract(batch: ScoreBatch, snapshot: pd.DataFrame, tmp_path: Path) -> None:
    assert batch.scores.schema == SCORE_SCHEMA
    assert batch.scores.column_names == [
        "pupil_id",
        "school_id",
        "grade_level",
        "as_of",
        "risk",
        "tier",
        "reasons",
        "model_version",
    ]
    assert batch.scores.num_rows == len(snapshot)
    frame = batch.scores.to_pandas()
    assert frame["risk"].between(0, 1).all() and set(frame["tier"]) == {"high", "medium", "low"}
    assert (frame["model_version"] == "vigie-dropout/7").all()
    parquet = write_scores(batch, tmp_path)
    assert pq.read_schema(parquet).equals(SCORE_SCHEMA)
    csv = pd.read_csv(write_scores(batch, tmp_path, fmt="csv"))
    first = json.loads(csv.loc[csv["tier"] == "high", "reasons"].iloc[0])
    assert set(first[0]) == {"signal", "value", "contribution", "text"}
    metadata = json.loads((tmp_path / f"scores_{batch.as_of.isoformat()}.json").read_text())
    assert metadata["thresholds"]["high"]["all"] >= metadata["thresholds"]["medium"]["all"]


def test_tiers_follow_capacity_overall_and_per_school(trained: TrainingResult, snapshot: pd.DataFrame) -> None:
    overall = score_frame(snapshot, trained.model, "v", TierConfig(high=0.1, medium=0.2)).scores.to_pandas()
    assert (overall["tier"] == "high").sum() == capacity_count(len(snapshot), 0.1)
    assert overall.loc[overall["tier"] == "high", "risk"].min() >= overall.loc[overall["tier"] != "high", "risk"].max()
    per_school = score_frame(snapshot, trained.model, "v", TierConfig(scope="school")).scores.to_pandas()
    shares = per_school.groupby("school_id")["tier"].apply(lambda t: (t == "high").mean())
    assert (shares.between(0.09, 0.2)).all()


def test_reasons_for_high_and_medium_only_most_raising_first(batch: ScoreBatch) -> None:
    frame = batch.scores.to_pandas()
    flagged = frame[frame["tier"] != "low"]
    assert flagged["reasons"].map(len).between(1, 3).all()
    assert (frame.loc[frame["tier"] == "low", "reasons"].map(len) == 0).all()
    for items in flagged["reasons"]:
        contributions = [r["contribution"] for r in items]
        assert contributions == sorted(contributions, reverse=True)
        assert all(r["text"] for r in items)
        if items[0]["signal"] == "Situation scolaire":  # nothing actionable raises this pupil's risk
            assert len(items) == 1
        else:
            assert min(contributions) > 0 and all(r["signal"] in SIGNALS for r in items)


def test_no_identifier_or_sensitive_attribute_in_reasons(batch: ScoreBatch) -> None:
    words = {
        "sexe",
        "boursier",
        "bourse",
        "handicap",
        "PPS",
        "PAP",
        "ULIS",
        "REP",
        "allophone",
        *AUDIT_COLUMNS,
        *IDENTIFYING_COLUMNS,
    }
    text = " ".join(
        r["text"] + " " + r["signal"] for items in batch.scores.column("reasons").to_pylist() for r in items
    )
    assert not [w for w in words if w in text.split() or f" {w} " in f" {text} "]
    assert not any(c in SIGNALS for c in CONTEXT)


# shap announces a change of its output format for LightGBM: the test reads the format it gets
@pytest.mark.filterwarnings("ignore:LightGBM binary classifier with TreeExplainer:UserWarning")
def test_contributions_are_exact_treeshap_and_add_up(trained: TrainingResult, snapshot: pd.DataFrame) -> None:
    X = feature_matrix(snapshot.head(500), list(trained.model.feature_names_in_))
    contributions = trained.model.contributions(X)
    np.testing.assert_allclose(contributions.sum(axis=1), trained.model.decision_function(X), atol=1e-9)
    values = shap.TreeExplainer(trained.model.lgbm_).shap_values(X)
    values = values[1] if isinstance(values, list) else values
    assert np.abs(values - contributions[:, :-1]).max() < 1e-6


def test_more_unjustified_absence_never_lowers_a_score(trained: TrainingResult, snapshot: pd.DataFrame) -> None:
    base = score_frame(snapshot, trained.model, "v", TierConfig()).scores.column("risk").to_numpy()
    worse = snapshot.copy()
    worse["unjustified_absence_rate_4w"] = worse["unjustified_absence_rate_4w"] + 0.1
    worse["months_with_4_unjustified_halfdays"] = worse["months_with_4_unjustified_halfdays"] + 1
    after = score_frame(worse, trained.model, "v", TierConfig()).scores.column("risk").to_numpy()
    assert (after >= base - 1e-12).all() and (after > base).mean() > 0.1


def test_history_follows_a_pupil_across_batches(
    trained: TrainingResult, feature_set: FeatureSet, tmp_path: Path
) -> None:
    frame = feature_set.frame
    dates = sorted(frame["as_of"].unique())[-3:]
    for day in dates:
        append_history(
            score_frame(frame[frame["as_of"] == day].reset_index(drop=True), trained.model, "m/1", TierConfig()),
            tmp_path,
        )
    pupil = frame.loc[frame["as_of"] == dates[-1], "pupil_id"].iloc[0]
    history = pupil_history(tmp_path, pupil)
    assert list(history["as_of"]) == sorted(history["as_of"]) and 1 <= len(history) <= 3
    assert set(history.columns) == {"pupil_id", "as_of", "risk", "tier", "model_version"}


def test_a_pupil_whose_risk_comes_only_from_context_still_gets_a_plain_reason(trained: TrainingResult) -> None:
    from models.reasons import LevelMeans, reasons

    features = list(trained.model.feature_names_in_)
    contributions = np.zeros((1, len(features) + 1))
    contributions[0, features.index("grade_level")] = 0.8
    contributions[0, features.index("unjustified_absence_rate_4w")] = -0.2
    row = pd.DataFrame(
        [{**dict.fromkeys(features, 0.0), "grade_level": "CAP1", "track": "lycee_pro", "age_years": 16.4}]
    )
    values = encoded_matrix(row, features)
    items = reasons(contributions, values, np.array(["CAP1"]), features, LevelMeans.of(pd.DataFrame(), features))[0]
    assert [r.signal for r in items] == ["Situation scolaire"]
    assert "CAP1" in str(items[0].text) and "16 ans" in str(items[0].text)


def test_tiers_and_every_capacity_metric_cut_the_same_pupils_even_on_ties() -> None:
    """One capacity rule: the high tier is exactly what training's and the audit's top 10% flag."""
    rng = np.random.default_rng(3)
    n = 1000
    risk = np.round(rng.beta(1, 20, n), 2)  # many equal risks
    pupils = np.array([f"{i:020x}" for i in rng.permutation(n)])
    schools = rng.choice(["0750001A", "0750002B", "0750003C"], n)
    for scope, groups in (("overall", None), ("school", schools)):
        tier, _ = tiers(risk, schools, pupils, TierConfig(high=0.1, medium=0.2, scope=scope))
        flagged = top_k_mask(risk, 0.1, groups, pupils=pupils)
        assert np.array_equal(tier == "high", flagged), scope
        assert np.array_equal(tier != "low", top_k_mask(risk, 0.3, groups, pupils=pupils)), scope


def test_scoring_writes_model_inputs_only(
    trained: TrainingResult, feature_set: FeatureSet, long_features: Path, tmp_path: Path
) -> None:
    """No sensitive attribute nor label is built or written on the scoring path."""
    from features.catalog import LABEL_COLUMNS
    from models.registry import LoadedModel
    from serving.batch import score_extract

    model = LoadedModel(trained.model, "vigie-dropout", "1", "run", feature_set.metadata)
    batch = score_extract(long_features.parent / "validated", pd.Timestamp("2024-03-31").date(), model,
                          TierConfig(), work_dir=tmp_path)  # fmt: skip
    assert batch.scores.num_rows > 0
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not [p for p in written if p.name == "audit.parquet"]
    forbidden = {*AUDIT_COLUMNS, *LABEL_COLUMNS}
    for path in written:
        if path.suffix == ".parquet":
            assert not forbidden & set(pq.read_schema(path).names), path
        else:
            text = path.read_text(encoding="utf-8")
            assert not [c for c in forbidden if f'"{c}"' in text], path


def test_encoded_inputs_give_the_same_contributions_as_the_feature_table(
    trained: TrainingResult, snapshot: pd.DataFrame
) -> None:
    """The service explains from one float array (no pandas per request): same TreeSHAP to the bit."""
    features = list(trained.model.feature_names_in_)
    rows = snapshot.sample(300, random_state=1)
    from_table = trained.model.contributions(feature_matrix(rows, features))
    from_array = trained.model.contributions(encoded_matrix(rows, features))
    np.testing.assert_array_equal(from_table, from_array)
    with pytest.raises(ValueError, match="columns"):
        trained.model.contributions(encoded_matrix(rows, features)[:, :-1])


def test_a_batch_scored_in_a_stream_equals_the_batch_scored_in_memory(
    trained: TrainingResult, feature_set: FeatureSet, long_features: Path, tmp_path: Path
) -> None:
    """National batches are scored chunk by chunk into the history: same risks, tiers, reasons
    and thresholds as the whole batch in memory, and the same contract files."""
    from models.registry import LoadedModel
    from serving.batch import export_scores, inputs_file, score_extract, score_to_history

    model = LoadedModel(trained.model, "vigie-dropout", "1", "run", feature_set.metadata)
    day, config = pd.Timestamp("2024-03-31").date(), TierConfig(chunk_rows=1000)
    validated = long_features.parent / "validated"
    whole = score_extract(validated, day, model, config, work_dir=tmp_path / "a")
    assert whole.scores.num_rows > config.chunk_rows  # two chunks at least, two passes
    kept, summary = score_to_history(validated, day, model, config, work_dir=tmp_path / "b", history=tmp_path / "h")
    assert _rows(pq.read_table(kept)) == _rows(whole.scores)
    assert summary.metadata() == whole.metadata()
    assert whole.inputs is not None
    pd.testing.assert_frame_equal(pd.read_parquet(inputs_file(kept)), whole.inputs)
    formats: tuple[Literal["parquet", "csv"], ...] = ("parquet", "csv")
    for fmt in formats:
        streamed = export_scores(kept, summary, tmp_path / "out", fmt=fmt)
        in_memory = write_scores(whole, tmp_path / "ref", fmt=fmt)
        assert streamed.read_bytes() == in_memory.read_bytes() or fmt == "parquet"
        assert streamed.with_suffix(".json").read_text() == in_memory.with_suffix(".json").read_text()
    assert _rows(pq.read_table(tmp_path / "out" / f"scores_{day}.parquet")) == _rows(whole.scores)


def _rows(scores: pa.Table) -> str:
    """Every row, values and reasons, as text (a reason's value may be NaN, which equals nothing)."""
    return json.dumps(scores.to_pylist(), default=str)
