"""The model card of a registered version, in French, as Markdown and self-contained HTML.

The Markdown template is the one text; the HTML is that Markdown rendered, so the two never
say different things.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markdown_it import MarkdownIt

from features import french
from features.catalog import AUDIT_COLUMNS, FAMILY_LABELS_FR, FEATURES, TRACK_LABELS_FR
from features.signals import FeatureMetadata
from models.metrics import Interval, capacity_of, metric_name
from models.registry import SplitNote
from training.gate import GateDecision, gap_figures, gap_label
from training.train import TrainingResult

ROWS_FR = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (précision moyenne)",
    "brier": "Score de Brier (plus bas = mieux)",
    "ece": "Erreur de calibration (ECE, plus bas = mieux)",
}
_KIND_FR = {"precision": "Précision", "recall": "Rappel"}


def row_label(metric: str) -> str:
    """The card's name of a test-fold figure: ``Précision, 15 % des élèves signalés``."""
    capacity = capacity_of(metric)
    if capacity is None:
        return ROWS_FR[metric]
    kind, share, per_school = capacity
    among = "par établissement" if per_school else "des élèves signalés"
    return f"{_KIND_FR[kind]}, {french.percent(share)} {among}"


FAMILY_FR = FAMILY_LABELS_FR


@dataclass(frozen=True)
class CardContext:
    """Who and what the model card is about: the version and run, the code, data and config hashes, the gate's decision
    and the fairness summary."""

    name: str
    version: str
    run_id: str
    created_at: datetime
    code_version: str
    data_hash: str
    config_hash: str
    gate: GateDecision
    synthetic: bool
    #: The fairness audit's summary sentences (empty: no audit with this version).
    fairness: tuple[str, ...] = ()
    #: What the model learned, and from which world (training/learning_conditions.py, issue 28).
    learning: tuple[str, ...] = ()


def versus_logistic(gaps: dict[str, Interval]) -> str | None:
    """The card's sentence: is the model better than the logistic baseline, beyond the noise?"""
    if not gaps:
        return None
    labels = {name: gap_label(name) for name in gaps}
    figures = gap_figures(gaps)
    better = [labels[name] for name, g in gaps.items() if g.lower > 0]
    worse = [labels[name] for name, g in gaps.items() if g.upper < 0]
    if worse:
        verdict = (
            f"le modèle fait moins bien que la régression logistique ({', '.join(worse)}) : "
            "préférer le modèle le plus simple"
        )
    elif len(better) == len(gaps):
        verdict = "le modèle fait mieux que la régression logistique, au-delà de l'incertitude"
    elif better:
        verdict = f"le modèle fait mieux sur {', '.join(better)}, sans écart net sur le reste"
    else:
        verdict = "aucun écart net : un modèle linéaire ferait aussi bien sur ce pli"
    return (
        f"Écart avec la régression logistique (modèle moins logistique, intervalle à 95 %, tirage des élèves) : "
        f"{figures} ; {verdict}."
    )


def _context(result: TrainingResult, card: CardContext, metadata: FeatureMetadata, shown: list[str]) -> dict[str, Any]:
    evaluations = result.evaluations
    point = result.operating_point
    lead = evaluations["model"].lead_days
    families: dict[str, int] = {}
    for feature in FEATURES:
        families[FAMILY_FR[feature.family]] = families.get(FAMILY_FR[feature.family], 0) + 1
    return {
        "card": card,
        "split": result.split.describe(),
        "rows": [
            (row_label(key), [evaluations[k].metrics[key] for k in ("model", "abc_rule", "logistic")]) for key in shown
        ],
        "by_track": evaluations["model"]
        .by_track.rename(index=TRACK_LABELS_FR)
        .reset_index(names="voie")
        .to_dict("records"),
        "test_rows": len(result.test),
        "test_positives": int(result.test["label"].sum()),
        "lead_median": float(lead.median()) if len(lead) else None,
        "lead_share": len(lead) / max(1, result.test.loc[result.test["label"] == 1, "pupil_id"].nunique()),
        "families": families,
        "n_features": len(FEATURES),
        "audit_columns": AUDIT_COLUMNS,
        "horizon_days": metadata.horizon_days,
        "point": point,
        "high": point.high_share_fr(),
        "precision": metric_name("precision", point.high),
        "recall": metric_name("recall", point.high),
        "best_iteration": result.model.best_iteration_,
        "params": result.params,
        "versus_logistic": versus_logistic(result.versus_logistic),
        **_base_rate_context(result),
    }


#: How a short extract's split fell back, in the card's words.
SPLIT_NOTES_FR: dict[SplitNote, str] = {
    "test_part_of_year": "le test ne porte que sur les dernières dates de la dernière année étiquetée.",
    "valid_part_of_year": ("la validation ne garde que les dates de son année dont l'horizon se ferme avant le test."),
}
FOLDS_FR = {"train": "entraînement", "valid": "validation", "test": "test"}


def _base_rate_context(result: TrainingResult) -> dict[str, Any]:
    """The card's split and base-rate section (its own partial, ``_base_rates.md.j2``)."""
    rates = result.base_rates
    shift = rates.test_shift()
    return {
        "split_model": result.split,
        "split_notes": SPLIT_NOTES_FR,
        "base_rates": [(FOLDS_FR[fold], getattr(rates, fold)) for fold in ("train", "valid", "test")],
        "base_rate_shift": shift.sentence_fr("le pli de test") if shift is not None else None,
    }


def write_model_card(
    result: TrainingResult, card: CardContext, metadata: FeatureMetadata, shown: list[str], folder: Path
) -> list[Path]:
    """``shown``: the test-fold figures in the card's table (:func:`models.metrics.reported_metrics`)."""
    env = Environment(
        loader=PackageLoader("training", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
    )
    env.filters.update(french.JINJA_FILTERS, num=lambda value, digits=3: french.number(value, digits))
    markdown = env.get_template("model_card.md.j2").render(**_context(result, card, metadata, shown))
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)  # raw HTML in it escaped
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "model_card.md", folder / "model_card.html"]
    paths[0].write_text(markdown, encoding="utf-8")
    paths[1].write_text(env.get_template("model_card.html.j2").render(card=card, body=body), encoding="utf-8")
    return paths
