"""Figures logged with each run: ROC, precision-recall, reliability, lead time, importance."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from models.matrix import feature_matrix
from models.metrics import reliability_curve
from training.train import TrainingResult

NAMES_FR = {"model": "Modèle LightGBM calibré", "abc_rule": "Règle ABC", "logistic": "Régression logistique"}


def write_figures(result: TrainingResult, folder: Path) -> list[Path]:
    """The test fold's ROC, precision-recall and reliability curves of each model, and the feature importances, as PNG
    files for the run."""
    folder.mkdir(parents=True, exist_ok=True)
    y = result.test["label"].to_numpy(dtype=int)
    paths = []
    fig, (roc, pr, rel) = plt.subplots(1, 3, figsize=(15, 4.5))
    for name, evaluation in result.evaluations.items():
        p = evaluation.probability
        fpr, tpr, _ = roc_curve(y, p)
        roc.plot(fpr, tpr, label=f"{NAMES_FR[name]} (AUC {evaluation.metrics['roc_auc']:.3f})")
        precision, recall, _ = precision_recall_curve(y, p)
        pr.plot(recall, precision, label=f"{NAMES_FR[name]} (AP {evaluation.metrics['pr_auc']:.3f})")
        if name != "abc_rule":
            curve = reliability_curve(y, p)
            rel.plot(curve["predicted"], curve["observed"], marker="o", label=NAMES_FR[name])
    roc.plot([0, 1], [0, 1], color="grey", lw=0.5)
    roc.set(title="Courbe ROC (pli de test)", xlabel="Taux de faux positifs", ylabel="Taux de vrais positifs")
    pr.set(title="Précision-rappel", xlabel="Rappel", ylabel="Précision")
    top = float(max(e.probability.max() for k, e in result.evaluations.items() if k != "abc_rule"))
    rel.plot([0, top], [0, top], color="grey", lw=0.5)
    rel.set(title="Fiabilité des probabilités", xlabel="Risque prédit", ylabel="Taux observé")
    for axis in (roc, pr, rel):
        axis.legend(fontsize=8)
    paths.append(_save(fig, folder / "evaluation.png"))

    fig, axis = plt.subplots(figsize=(7, 4))
    lead = result.evaluations["model"].lead_days
    point = result.operating_point
    axis.hist(lead, bins=list(range(0, point.horizon_days + 15, 15)), color="#3060a0")
    median = f"{np.median(lead):.0f} j" if len(lead) else "—"
    axis.set(
        title=f"Délai d'alerte avant le décrochage (médiane {median})",
        xlabel=f"Jours entre la première alerte ({point.high_group_fr()}) et le décrochage",
        ylabel="Élèves",
    )
    paths.append(_save(fig, folder / "lead_time.png"))

    fig, axis = plt.subplots(figsize=(7, 8))
    importance = result.importance.head(25)[::-1]
    axis.barh(importance.index, importance.to_numpy() / importance.sum(), color="#3060a0")
    axis.set(title="Importance des variables (gain, 25 premières)", xlabel="Part du gain")
    paths.append(_save(fig, folder / "importance.png"))
    return paths


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def importance_table(result: TrainingResult) -> pd.DataFrame:
    """Each feature's gain and share of the total, for the model card."""
    share = result.importance / result.importance.sum()
    return pd.DataFrame({"gain": result.importance, "share": share})


def write_shap_figures(result: TrainingResult, folder: Path, *, sample: int = 2000) -> list[Path]:
    """Global explanations for reviewers: SHAP summary and dependence of the three strongest features."""
    import shap

    folder.mkdir(parents=True, exist_ok=True)
    rows = result.test.sample(n=min(sample, len(result.test)), random_state=0)
    X = feature_matrix(rows, list(result.model.feature_names_in_))
    values = result.model.contributions(X)[:, :-1]
    shown = X.apply(lambda c: c.cat.codes if isinstance(c.dtype, pd.CategoricalDtype) else c)
    paths = []
    shap.summary_plot(values, shown, show=False, max_display=20, rng=np.random.default_rng(0))
    plt.title("Contributions SHAP au risque (log-odds), pli de test")
    paths.append(_save(plt.gcf(), folder / "shap_summary.png"))
    strongest = np.abs(values).mean(axis=0).argsort()[::-1][:3]
    for index in strongest:
        name = shown.columns[index]
        shap.dependence_plot(int(index), values, shown, show=False, interaction_index=None)
        plt.title(f"Dépendance SHAP : {name}")
        paths.append(_save(plt.gcf(), folder / f"shap_dependence_{name}.png"))
    return paths
