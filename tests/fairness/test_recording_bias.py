"""Must show: a recording bias injected in the synthetic district is what the audit flags.

From 2023 the district records the unjustified absences of scholarship holders three times
more strictly; who drops out does not change. The model, trained on earlier years, reads more
absences as more risk: the audit must flag scholarship holders, and must not on the same
district without the bias.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairness.config import FairnessConfig
from fairness.review import ReviewContext, review_snapshots
from features.ingest import pseudonymise_extract, validate_extract, write_validated
from features.signals import AUDIT_TABLE, FeatureConfig, build_features
from features.synthetic import SynthConfig, synthesise
from tests.conftest import TEST_GRADES
from training.config import load_train_config
from training.train import load_feature_set, train

pytestmark = pytest.mark.integration


def _district(root: Path, key_file: Path, bias: float) -> Path:
    config = SynthConfig(
        pupils=12_000,
        seed=5,
        first_year=2020,
        last_year=2024,
        format="parquet",
        recording_bias=bias,
        recording_bias_group="scholarship",
        recording_bias_from=2023,
        grades_per_subject=TEST_GRADES,
    )
    synthesise(config, root / "raw")
    pseudonymise_extract(root / "raw", root / "extract", key_file=key_file)
    write_validated(validate_extract(root / "extract"), root / "validated")
    build_features(
        root / "validated", root / "features", FeatureConfig.model_validate({"schedule": {"from_year": 2020}})
    )
    return root / "features"


@pytest.mark.parametrize("bias", [1.0, 3.0])
def test_the_audit_flags_the_group_whose_absences_are_over_recorded(
    bias: float, key_file: Path, tmp_path: Path
) -> None:
    features = _district(tmp_path, key_file, bias)
    config = load_train_config(Path("configs/train.yaml"))
    result = train(load_feature_set(features, config, tmp_path / "work"), config)
    review = review_snapshots(
        result.test,
        result.evaluations["model"].probability,
        pd.read_parquet(features / AUDIT_TABLE),
        FairnessConfig(n_boot=100),
        ReviewContext("test", ["2023-12-15", "2024-03-31", "2024-06-15"], "hash", synthetic=True),
    )
    scholarship = [a for a in review.audit.alerts if a.startswith("bourse — boursier : risque surestimé")]
    if bias > 1:
        assert scholarship, review.audit.alerts
        assert not review.passed
    else:
        assert not scholarship, review.audit.alerts
        assert review.passed, review.detail

    html, data = review.write(tmp_path / "report", model="vigie-dropout version 1")
    text = html.read_text(encoding="utf-8")
    assert "Audit d'équité" in text and "ThresholdOptimizer" in text and "data:image/png;base64," in text
    assert "caractéristique sensible de chaque élève au moment du calcul du score" in text
    published = data.read_text(encoding="utf-8")
    assert '"model": "vigie-dropout version 1"' in published and '"data_hash": "hash"' in published
    pupils = result.test["pupil_id"].astype(str).unique()
    assert not [p for p in pupils[:2000] if p in text or p in published]
