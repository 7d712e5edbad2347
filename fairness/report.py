"""The audit report for ethics reviewers: self-contained HTML (charts inline) and JSON, in French."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from jinja2 import Environment, PackageLoader, StrictUndefined

from fairness.audit import DISPARITIES, METRICS, AttributeAudit, Estimate
from fairness.groups import attribute_label
from features import french
from models.fairness_summary import FAIRNESS_REPORT_ARTIFACT

if TYPE_CHECKING:
    from fairness.review import FairnessReview

METRIC_FR = {
    "n": "Effectif (instantanés)",
    "base_rate": "Taux de décrochage observé",
    "selection_rate": "Taux de signalement",
    "tpr": "Rappel (taux de vrais positifs)",
    "fpr": "Taux de faux positifs",
    "precision": "Précision",
    "fnr": "Taux de faux négatifs",
    "auc": "AUC",
    "ece": "Erreur de calibration (ECE)",
    "calibration_gap": "Écart de calibration (risque moyen − taux observé)",
    "observed_expected": "Décrochages observés pour 100 attendus",
}
METRIC_HELP = {
    "base_rate": "part des élèves du groupe qui ont effectivement décroché {within}.",
    "selection_rate": "part des élèves du groupe placés dans le niveau « élevé » ({high_group}).",
    "tpr": "parmi les élèves qui ont décroché, part de ceux que l'outil avait signalés.",
    "fpr": "parmi les élèves qui n'ont pas décroché, part de ceux que l'outil a signalés quand même.",
    "precision": "parmi les élèves signalés, part de ceux qui ont effectivement décroché.",
    "fnr": "parmi les élèves qui ont décroché, part de ceux que l'outil n'avait pas signalés (1 − rappel).",
    "auc": "capacité à classer un décrocheur au-dessus d'un non-décrocheur du même groupe (0,5 = hasard, 1 = parfait).",
    "ece": "écart moyen entre le risque annoncé et le taux observé, par tranche de risque (0 = parfait).",
    "calibration_gap": "positif : l'outil surestime le risque du groupe ; négatif : il le sous-estime. "
    "C'est l'indicateur le plus direct d'un biais de mesure (par exemple des absences relevées plus "
    "strictement pour un groupe).",
    "observed_expected": "le même écart rapporté au taux du groupe : 100 quand le risque annoncé est juste, "
    "50 quand le groupe a décroché deux fois moins que l'outil ne l'annonçait. Avec des taux de décrochage "
    "de 2 à 5 %, un écart de quelques points peut représenter la moitié du risque d'un groupe.",
}
DISPARITY_FR = {
    "demographic_parity_difference": "Parité démographique (différence des taux de signalement)",
    "demographic_parity_ratio": "Parité démographique (rapport des taux de signalement)",
    "equal_opportunity_difference": "Égalité des chances (différence des rappels)",
    "false_positive_rate_difference": "Différence des taux de faux positifs",
    "equalized_odds_difference": "Égalité des taux d'erreur (equalized odds : la plus grande des deux différences)",
    "calibration_gap_difference": "Différence des écarts de calibration",
}
PERCENT = {"base_rate", "selection_rate", "tpr", "fpr", "precision", "fnr", "calibration_gap", "ece"}


def _fr(value: float | None, digits: int = 1, percent: bool = True) -> str:
    return french.percent(value, digits) if percent else french.number(value, digits)


def _cell(metric: str, estimate: Estimate | None) -> str:
    if estimate is None:
        return french.SUPPRESSED
    if metric == "n":
        return french.integer(estimate.value)
    if metric == "observed_expected":
        per_100 = [
            french.integer(None if v is None else 100 * v) for v in (estimate.value, estimate.lower, estimate.upper)
        ]
        return f"{per_100[0]} [{per_100[1]} ; {per_100[2]}]"
    percent = metric in PERCENT
    digits = 2 if metric in ("calibration_gap", "ece") else (1 if percent else 3)
    value = _fr(estimate.value, digits, percent)
    return f"{value} [{_fr(estimate.lower, digits, percent)} ; {_fr(estimate.upper, digits, percent)}]"


def _disparity(key: str, estimate: Estimate | None) -> str:
    if estimate is None:
        return "non calculable (moins de deux groupes assez grands)"
    percent = not key.endswith("ratio")
    digits = 1 if percent else 2
    if key == "calibration_gap_difference":
        digits = 2
    value = _fr(estimate.value, digits, percent)
    return f"{value} [{_fr(estimate.lower, digits, percent)} ; {_fr(estimate.upper, digits, percent)}]"


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _reliability_figure(audit: AttributeAudit) -> str | None:
    if not audit.reliability:
        return None
    fig, ax = plt.subplots(figsize=(5.2, 4))
    top = 0.0
    for group, points in audit.reliability.items():
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        top = max(top, *xs, *ys)
        ax.plot(xs, ys, marker="o", label=group)
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--", label="calibration parfaite")
    ax.set(
        xlabel="Risque annoncé (moyenne par tranche)",
        ylabel="Taux de décrochage observé",
        title=attribute_label(audit.attribute),
    )
    ax.legend(fontsize=7)
    return _png(fig)


def _disparity_figure(review: FairnessReview) -> str:
    """Equalized-odds and calibration-gap differences with their intervals, per attribute."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(review.audit.attributes) + 1.5), sharey=True)
    names = [attribute_label(a.attribute) for a in review.audit.attributes]
    thresholds = {
        "equalized_odds_difference": review.config.gate.max_equalized_odds_difference,
        "calibration_gap_difference": review.config.gate.max_calibration_gap_difference,
    }
    for ax, key in zip(axes, thresholds, strict=True):
        for i, audit in enumerate(review.audit.attributes):
            e = audit.disparities.get(key)
            if e is None or e.value is None:
                continue
            judged = audit.attribute in review.config.gate.attributes
            color = "#b2182b" if judged else "#777777"
            low, high = e.lower if e.lower is not None else e.value, e.upper if e.upper is not None else e.value
            # a percentile interval need not contain the point estimate: draw what it spans
            spread = [[max(0.0, e.value - low)], [max(0.0, high - e.value)]]
            ax.errorbar(e.value, i, xerr=spread, fmt="o", color=color, capsize=3)
        if thresholds[key] is not None:
            ax.axvline(thresholds[key], color="black", ls="--", lw=0.8, label="seuil du contrôle")
            ax.legend(fontsize=7)
        ax.set(title=DISPARITY_FR[key].split(" (")[0], xlabel="différence entre groupes")
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    return _png(fig)


def _tradeoff_figure(review: FairnessReview) -> str | None:
    mitigation = review.mitigation
    if mitigation is None:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    plain = [p for p in mitigation.points if not p.needs_sensitive_attribute_at_scoring]
    fixed = [p for p in mitigation.points if p.needs_sensitive_attribute_at_scoring]
    ax.plot([p.tpr_range for p in plain], [p.precision for p in plain], "o-", label="sans correction (k variable)")
    for p in plain:
        ax.annotate(
            f"{p.selection_rate:.0%}", (p.tpr_range, p.precision), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    ax.plot(
        [p.tpr_range for p in fixed],
        [p.precision for p in fixed],
        "s",
        color="#b2182b",
        label="ThresholdOptimizer (seuils par groupe)",
    )
    for p in fixed:
        ax.annotate(
            f"{p.selection_rate:.0%}",
            (p.tpr_range, p.precision),
            fontsize=7,
            xytext=(3, -9),
            textcoords="offset points",
            color="#b2182b",
        )
    ax.set(
        xlabel="Écart de rappel entre groupes (égalité des chances)",
        ylabel="Précision parmi les signalés",
        title=f"Compromis précision / disparité — {attribute_label(mitigation.attribute)}",
    )
    ax.legend(fontsize=8)
    return _png(fig)


def _help(text: str, review: FairnessReview) -> str:
    """A glossary entry at the audited operating point (its horizon and capacity)."""
    point = review.operating_point
    return text.replace("{within}", point.within_fr()).replace("{high_group}", point.high_group_fr())


def summary_lines(review: FairnessReview) -> list[str]:
    """The audit in a few sentences, fit for the model card."""
    audit = review.audit
    lines = [
        f"Audit d'équité sur {french.integer(audit.pupils)} élèves ({french.integer(audit.n)} instantanés, "
        f"{french.integer(audit.positives)} décrochages), au point de fonctionnement "
        f"« {_fr(audit.capacity, 0)} des élèves signalés à chaque date », décrochage "
        f"{review.operating_point.within_fr()}.",
        "Contrôle d'équité : " + ("réussi" if review.passed else "échoué") + f" — {review.detail}.",
    ]
    if audit.alerts:
        lines.append("Groupes au risque mal estimé : " + " ; ".join(audit.alerts) + ".")
    else:
        lines.append("Aucun groupe dont le risque soit sur- ou sous-estimé au-delà de la tolérance.")
    widest = [
        (a.attribute, a.disparities["equalized_odds_difference"])
        for a in audit.attributes
        if a.disparities.get("equalized_odds_difference") is not None and a.attribute in review.config.gate.attributes
    ]
    widest.sort(key=lambda item: -(item[1].value or 0))  # type: ignore[union-attr]
    if widest:
        name, estimate = widest[0]
        lines.append(
            f"Plus grand écart d'erreurs entre groupes d'une caractéristique sensible : {attribute_label(name)}, "
            f"{_disparity('equalized_odds_difference', estimate)} (il reflète aussi des taux de décrochage "
            "différents entre groupes)."
        )
    if review.mitigation is not None and review.mitigation.left_out:
        lines.append(
            f"Comparaison des corrections ({attribute_label(review.mitigation.attribute)}) sans "
            f"{', '.join(review.mitigation.left_out)} : une seule issue observée dans la moitié d'ajustement."
        )
    return lines


def write_report(review: FairnessReview, folder: Path) -> list[Path]:
    """Write the fairness report (self-contained report.html in French for ethics reviewers, and report.json) into
    ``folder``; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    env = Environment(loader=PackageLoader("fairness", "templates"), autoescape=True, undefined=StrictUndefined)
    env.filters.update(french.JINJA_FILTERS)
    attributes = []
    for audit in review.audit.attributes:
        attributes.append(
            {
                "name": attribute_label(audit.attribute),
                "judged": audit.attribute in review.config.gate.attributes,
                "status": audit.status,
                "rows": [(g, [_cell(m, audit.cells[g][m]) for m in METRICS]) for g in audit.groups],
                "disparities": [
                    (DISPARITY_FR[k], _disparity(k, audit.disparities[k]), ", ".join(audit.compared[k]) or "—")
                    for k in DISPARITIES
                ],
                "alerts": audit.alerts,
                "figure": _reliability_figure(audit),
            }
        )
    html = env.get_template("report.html.j2").render(
        review=review,
        context=review.context,
        audit=review.audit,
        config=review.config,
        summary=summary_lines(review),
        metric_names=[METRIC_FR[m] for m in METRICS],
        metric_help=[(METRIC_FR[m], _help(text, review)) for m, text in METRIC_HELP.items()],
        attributes=attributes,
        disparity_figure=_disparity_figure(review),
        tradeoff_figure=_tradeoff_figure(review),
        mitigation=review.mitigation,
        mitigated=attribute_label(review.mitigation.attribute) if review.mitigation else None,
        judged_attributes=[attribute_label(a) for a in review.config.gate.attributes],
        fr=_fr,
        point=review.operating_point,
    )
    paths = [folder / "fairness_report.html", folder / FAIRNESS_REPORT_ARTIFACT]
    paths[0].write_text(html, encoding="utf-8")
    paths[1].write_text(review.summary().as_json(), encoding="utf-8")
    return paths
