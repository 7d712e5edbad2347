"""The French report of ``vigie impact`` for the ethics committee and the ministry (self-contained
HTML, the RD plots inline), ``impact.json`` beside it, and the run logged to MLflow with the model
version. Descriptive wording, as in the follow-up report: never a causal claim beyond the design."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from features import french
from impact.sample import CUTS, Cut
from impact.stagger import PERMUTATIONS
from models.impact_result import IMPACT_FILE, ImpactResult

REPORT_FILE: Final = "impact.html"
EXPERIMENT: Final = "vigie-impact"
#: Bins of the RD plots on each side of a cut, at most; fewer when events are rare, so that each bin
#: can expect twice the disclosure threshold of events and non-events.
BINS_PER_SIDE: Final = 20
OUTCOME_FR: Final = {"had_plan": "Part avec un plan de suivi", "dropout": "Part ayant décroché"}
NAMES_FR: Final = {
    "flag_to_plan": "Signalement → plan ouvert (première étape)",
    "flag_to_dropout": "Signalement → décrochage (intention de traiter)",
    "plan_to_dropout": "Plan → décrochage (RD floue, élèves au seuil)",
    "stagger_dropout": "Ouverture de Vigie → décrochage (démarrage échelonné)",
}
CUTS_FR: Final = {
    "high": "seuil du niveau « élevé » (élevé contre moyen)",
    "medium": "seuil du niveau « moyen » (moyen contre faible)",
}
CHECKS_FR: Final = {
    "density": "Test de densité (manipulation) sur la distance en risque",
    "placebo_signal": "Placebo : signal mesuré avant le lot",
    "placebo_cut": "Placebo : faux seuil à l'intérieur d'un niveau",
    "bandwidth": "Largeur de bande moitié / double",
    "balance": "Équilibre : signal mesuré avant le lot, ouverts contre pas encore ouverts",
    "randomisation": "Inférence par randomisation (vagues retirées au sort)",
}


def binned(sample: pd.DataFrame, cut: Cut, outcome: str, width: float) -> pd.DataFrame:
    """Mean outcome in equal-width bins of the rank distance within ``width`` of the cut; a bin whose
    count or complement is under the disclosure threshold is withheld (mean NaN)."""
    x = sample[f"x_{cut}"].to_numpy(dtype=float)
    inside = np.abs(x) <= width
    y = sample[outcome].to_numpy(dtype=float)[inside]
    rarest = min((min(y[side].sum(), (1 - y[side]).sum()) for side in (x[inside] < 0, x[inside] >= 0)), default=0.0)
    per_side = int(np.clip(rarest // (2 * french.MIN_CELL), 2, BINS_PER_SIDE))
    edges = np.linspace(-width, width, 2 * per_side + 1)
    which = np.clip(np.digitize(x[inside], edges) - 1, 0, len(edges) - 2)
    bins = pd.DataFrame({
        "centre": (edges[:-1] + edges[1:]) / 2,
        "sum": np.bincount(which, weights=y, minlength=len(edges) - 1),
        "count": np.bincount(which, minlength=len(edges) - 1),
    })  # fmt: skip
    shown = [french.publishable(int(s), int(c)) for s, c in zip(bins["sum"], bins["count"], strict=True)]
    bins["mean"] = np.where(shown, bins["sum"] / bins["count"].clip(lower=1), np.nan)
    return bins[["centre", "count", "mean"]]


def rd_figure(sample: pd.DataFrame, result: ImpactResult) -> str:
    """The RD plots (plans and dropout around each cut), as an inline PNG data URI."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), squeeze=False)
    for row, cut in enumerate(CUTS):
        itt = result.get("flag_to_dropout", cut)
        width = min(3 * (itt.bandwidth or 0.05), 0.3)
        for col, outcome in enumerate(("had_plan", "dropout")):
            ax = axes[row][col]
            bins = binned(sample, cut, outcome, width)
            for side in (bins["centre"] < 0, bins["centre"] >= 0):
                part = bins[side]
                ax.plot(part["centre"], part["mean"], "o", color="#000091", ms=4)
                known = part.dropna()
                if len(known) >= 2:
                    slope, intercept = np.polyfit(known["centre"], known["mean"], 1, w=known["count"])
                    ax.plot(part["centre"], intercept + slope * part["centre"], color="#e1000f", lw=1)
            ax.axvline(0, color="grey", lw=0.8, ls="--")
            ax.set(
                title=f"{OUTCOME_FR[outcome]} — {CUTS_FR[cut]}",
                xlabel="Distance au seuil (rang, part du lot ; > 0 : signalé)",
            )
            ax.title.set_fontsize(9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def write_report(result: ImpactResult, sample: pd.DataFrame, folder: Path) -> list[Path]:
    """``impact.json`` (the stable schema) and ``impact.html`` (French) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / IMPACT_FILE).write_text(result.to_json(), encoding="utf-8")
    env = Environment(loader=PackageLoader("impact", "templates"), autoescape=True, undefined=StrictUndefined)
    env.filters.update(french.JINJA_FILTERS)
    env.filters["pts"] = lambda v: french.MISSING if v is None else french.signed(100 * v, 1)
    shared = {"r": result, "names": NAMES_FR, "checks": CHECKS_FR, "min_cell": french.MIN_CELL,
              "suppressed": french.SUPPRESSED}  # fmt: skip
    if result.design == "stagger":
        html = env.get_template("stagger.html.j2").render(**shared, permutations=PERMUTATIONS)
    else:
        html = env.get_template("impact.html.j2").render(**shared, figure=rd_figure(sample, result), cuts=CUTS_FR)
    (folder / REPORT_FILE).write_text(html, encoding="utf-8")
    return [folder / REPORT_FILE, folder / IMPACT_FILE]


def log_to_mlflow(result: ImpactResult, files: list[Path]) -> str:
    """One run of the ``vigie-impact`` experiment, tagged with the model version; its id."""
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"impact {result.from_} {result.to}") as run:
        mlflow.set_tags({"model_version": result.model_version, "verdict": result.verdict.code,
                         "design": result.design})  # fmt: skip
        mlflow.log_params({"from": result.from_.isoformat(), "to": result.to.isoformat(), "rows": result.rows,
                           "plan_window_days": result.plan_window_days, "all_batches": result.all_batches,
                           "high": result.operating_point.high, "medium": result.operating_point.medium})  # fmt: skip
        for e in result.estimates:
            if e.estimate is not None:
                key = e.name if e.cut is None else f"{e.name}_{e.cut}"
                mlflow.log_metrics({key: e.estimate, f"{key}_ci_low": e.ci_low or 0.0,
                                    f"{key}_ci_high": e.ci_high or 0.0})  # fmt: skip
        for path in files:
            mlflow.log_artifact(str(path), artifact_path="impact")
        return str(run.info.run_id)


def summary_lines(result: ImpactResult) -> list[str]:
    """What ``vigie impact`` prints: each estimate in one line, then the verdict (French, as the report)."""
    lines = []
    for e in result.estimates:
        shown = (
            french.SUPPRESSED
            if e.withheld
            else f"{french.signed(100 * (e.estimate or 0), 1)} points "
            f"[{french.signed(100 * (e.ci_low or 0), 1)} ; {french.signed(100 * (e.ci_high or 0), 1)}]"
        )
        where = CUTS_FR[e.cut] if e.cut is not None else "établissements ouverts contre pas encore ouverts"
        lines.append(f"  {where} — {NAMES_FR[e.name]} : {shown} (n {e.n_left} / {e.n_right})")
    return [*lines, f"Verdict : {result.verdict.text}"]
