"""The model card's comparison with the logistic baseline: a verdict only beyond the noise."""

from __future__ import annotations

from models.metrics import Interval
from training.model_card import versus_logistic


def _gaps(auc: tuple[float, float, float], precision: tuple[float, float, float]) -> dict[str, Interval]:
    return {"roc_auc": Interval(*auc), "precision_at_10pct": Interval(*precision)}


def test_the_card_says_whether_the_model_beats_the_logistic_baseline() -> None:
    assert versus_logistic({}) is None
    tied = versus_logistic(_gaps((0.001, -0.002, 0.004), (0.001, -0.003, 0.005)))
    assert tied is not None
    assert "ROC AUC +0,001 [-0,002 ; +0,004] ; précision à 10 % +0,001 [-0,003 ; +0,005]" in tied
    assert tied.endswith("aucun écart net : un modèle linéaire ferait aussi bien sur ce pli.")
    better = versus_logistic(_gaps((0.02, 0.01, 0.03), (0.03, 0.01, 0.05)))
    assert better is not None and "le modèle fait mieux que la régression logistique" in better
    partly = versus_logistic(_gaps((0.02, 0.01, 0.03), (0.01, -0.01, 0.03)))
    assert partly is not None and "mieux sur ROC AUC, sans écart net sur le reste" in partly
    worse = versus_logistic(_gaps((-0.03, -0.05, -0.01), (0.0, -0.02, 0.02)))
    assert worse is not None and "moins bien que la régression logistique (ROC AUC)" in worse
