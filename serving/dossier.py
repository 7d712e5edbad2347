"""The deployment dossier of a registered version, in French, from the registry only.

``vigie dossier`` writes four documents, each as Markdown (the one text) and HTML (that Markdown
rendered, so the two never differ), and ``chiffres.json``, every figure they print with its
registry key:

- the technical documentation, in the structure of Annex IV of the AI Act (art. 11);
- the instructions for use for deployers (AI Act art. 13);
- the pre-filled template of the data protection impact assessment (AIPD, GDPR art. 35);
- the pre-filled template of the fundamental-rights impact assessment (AI Act art. 27).

Every figure is read from MLflow (:mod:`models.version_record`: the run's metrics, its newest
fairness audit, its monitoring verdicts), never recomputed. What only the deployer can write is
printed as :data:`serving.notice.TO_COMPLETE`, in bold, with a hint of what is expected; the
HTML highlights it. The sentences describing what Vigie does are the notice's
(:mod:`serving.notice`), so the public notice and the dossier say the same thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined
from markdown_it import MarkdownIt

from features import french
from features.catalog import AUDIT_COLUMNS
from models.fairness_summary import ATTRIBUTE_LABELS_FR
from models.metrics import capacity_of, metric_name
from models.version_record import VersionRecord
from serving import notice as public
from serving.api.settings import ServiceSettings
from serving.notice import TO_COMPLETE, NoticeConfig, filled


@dataclass(frozen=True)
class Retention:
    """The retention settings the dossier states (the service's settings)."""

    access_log_days: int
    followup_school_years: int
    score_school_years: int

    @classmethod
    def of(cls, settings: ServiceSettings) -> Retention:
        """The settings in force."""
        return cls(
            settings.access_log_retention_days,
            settings.followup_retention_school_years,
            settings.score_history_retention_school_years,
        )


@dataclass(frozen=True)
class Document:
    """A written document of the dossier and how many fields the deployer must still write."""

    title: str
    markdown: Path
    html: Path
    to_complete: int


#: The documents: file stem, French title, template.
DOCUMENTS: Final = (
    ("documentation-technique", "Documentation technique (règlement sur l'IA, art. 11 et annexe IV)",
     "technical.md.j2"),
    ("notice-utilisation", "Notice d'utilisation pour les déployeurs (règlement sur l'IA, art. 13)",
     "instructions.md.j2"),
    ("aipd", "Analyse d'impact relative à la protection des données (RGPD, art. 35)", "aipd.md.j2"),
    ("analyse-impact-droits-fondamentaux", "Analyse d'impact sur les droits fondamentaux (règlement sur l'IA, art. 27)",
     "fria.md.j2"),
)  # fmt: skip
#: The figures file: every figure the documents print, with its registry key.
FIGURES_FILE: Final = "chiffres.json"
_RANKERS: Final = (("model", "modèle"), ("abc_rule", "règle ABC"), ("logistic", "régression logistique"))
_ROWS_FR: Final = {
    "n": "Situations d'élèves évaluées au test (un élève à une date)",
    "positives": "Décrochages constatés dans l'horizon",
    "roc_auc": "ROC AUC",
    "pr_auc": "Aire sous la courbe précision-rappel (précision moyenne)",
    "brier": "Score de Brier (plus bas = mieux)",
    "ece": "Erreur de calibration (ECE, plus bas = mieux)",
    "lead_days_median": "Délai d'alerte avant le décrochage, médiane (jours)",
    "lead_days_p25": "Délai d'alerte, premier quartile (jours)",
    "lead_days_p75": "Délai d'alerte, troisième quartile (jours)",
}
_KIND_FR: Final = {"precision": "Précision", "recall": "Rappel"}
#: Per-group figures of the fairness audit shown in the documentation, in order.
GROUP_FIGURES_FR: Final = {
    "n": "effectif",
    "base_rate": "taux de décrochage",
    "selection_rate": "taux de signalement",
    "tpr": "rappel",
    "precision": "précision",
    "calibration_gap": "écart de calibration",
}


def row_label(metric: str) -> str:
    """The French name of a test-fold metric (``Précision, 10 % des élèves signalés``)."""
    capacity = capacity_of(metric)
    if capacity is None:
        return _ROWS_FR.get(metric, metric)
    kind, share, per_school = capacity
    return f"{_KIND_FR[kind]}, {french.percent(share)} {'par établissement' if per_school else 'des élèves signalés'}"


def _digits(metric: str) -> int:
    return 0 if metric in ("n", "positives") or metric.startswith("lead_days") else 3


def _metric_order(record: VersionRecord) -> list[str]:
    """The model's test-fold metrics the registry holds, in the model card's order."""
    names = {key.split(".", 2)[2] for key in record.metrics if key.startswith("test.model.")}
    first = ["n", "positives", "roc_auc", "pr_auc"]
    capacities = sorted((n for n in names if capacity_of(n) is not None), key=lambda n: capacity_of(n) or ())
    last = ["brier", "ece", "lead_days_median", "lead_days_p25", "lead_days_p75"]
    return [n for n in first if n in names] + capacities + [n for n in last if n in names]


def _cell(record: VersionRecord, ranker: str, metric: str) -> str:
    return french.number(record.test_metric(ranker, metric), _digits(metric))


def metric_rows(record: VersionRecord) -> list[dict[str, Any]]:
    """One row per test-fold metric: label, the three rankers' values (French) and registry keys."""
    rows = []
    for metric in _metric_order(record):
        rows.append(
            {
                "label": row_label(metric),
                "metric": metric,
                "values": [_cell(record, ranker, metric) for ranker, _ in _RANKERS],
                "key": f"test.model.{metric}",
            }
        )
    return rows


#: The baselines the model is compared with, pairwise, in the registry (``test.model_minus_<name>.*``):
#: the logistic regression on the same inputs, and the environment alone (school, level, track and their
#: past dropout rates, no individual signal: whether profiling each pupil is needed, GDPR art. 5(1)(c)).
BASELINES_FR: Final = (("logistic", "régression logistique"), ("environment", "environnement seul"))


def versus_baselines(record: VersionRecord) -> list[dict[str, str]]:
    """The model minus each baseline, with the paired intervals training logged."""
    rows = []
    for baseline, baseline_fr in BASELINES_FR:
        for metric in ("roc_auc", metric_name("precision", record.operating_point.high)):
            base = f"test.model_minus_{baseline}.{metric}"
            if base in record.metrics:
                value, lower, upper = (record.metrics.get(base + s) for s in ("", "_lower", "_upper"))
                rows.append(
                    {
                        "baseline": baseline_fr,
                        "label": row_label(metric),
                        "shown": public.interval_fr(value, lower, upper),
                        "key": base,
                    }
                )
    return rows


def _estimate(cell: Any, *, count: bool) -> str:
    """An audit cell: a figure and its interval, a count, or the audit's marker for too few pupils."""
    if not isinstance(cell, dict):
        return str(cell) if cell is not None else french.MISSING
    value, lower, upper = (public.as_float(cell.get(k)) for k in ("value", "lower", "upper"))
    return french.integer(value) if count else public.interval_fr(value, lower, upper)


def _few_cases_masked(cells: dict[str, Any], min_cell: int, marker: str) -> dict[str, Any]:
    """A group's cells with its dropout rate masked when it rests on fewer than ``min_cell`` dropouts
    (pupils × rate would give the count): the small-cell rule applied to the number of cases too."""
    pupils, rate = (public.as_float(c.get("value")) if isinstance(c, dict) else None
                    for c in (cells.get("n"), cells.get("base_rate")))  # fmt: skip
    if pupils is not None and rate is not None and round(pupils * rate) < min_cell:
        return cells | {"base_rate": marker}
    return cells


def group_tables(record: VersionRecord) -> list[dict[str, Any]]:
    """Per audited attribute, each group's figures with their intervals, as the audit logged them
    (a cell on too few pupils is the audit's marker, never a figure)."""
    if record.fairness is None:
        return []
    tables = []
    for attribute in record.fairness.audit.attributes:
        groups = attribute.get("groups")
        if not isinstance(groups, dict) or not groups:
            continue
        name = str(attribute.get("attribute", ""))
        rows = [
            {"group": group, "cells": [_estimate(shown.get(k), count=k == "n") for k in GROUP_FIGURES_FR]}
            for group, cells in groups.items()
            if isinstance(cells, dict)
            for shown in [
                _few_cases_masked(cells, record.fairness.audit.min_cell, record.fairness.audit.suppressed_marker)
            ]
        ]
        alerts = attribute.get("alerts")
        tables.append({"attribute": ATTRIBUTE_LABELS_FR.get(name, name), "rows": rows,
                       "alerts": [str(a) for a in alerts] if isinstance(alerts, list) else []})  # fmt: skip
    return tables


def changes(record: VersionRecord, previous: VersionRecord | None) -> list[str]:
    """What changed since the previous registered version: data, code, operating point, figures."""
    if previous is None:
        return ["Première version enregistrée : aucune version antérieure à comparer."]
    lines = [f"Version précédente : {previous.label}, enregistrée le {french.day(previous.registered_at.date())}."]
    for what, now, before in (
        ("Données d'entraînement (empreinte)", record.data_hash, previous.data_hash),
        ("Code (commit)", record.code_version, previous.code_version),
        ("Configuration d'entraînement (empreinte)", record.config_hash, previous.config_hash),
        ("Point de fonctionnement", record.operating_point.describe_fr(), previous.operating_point.describe_fr()),
        ("Dates de test", french.days(record.split.test), french.days(previous.split.test)),
    ):
        lines.append(f"{what} : {'inchangé' if now == before else f'{before} → {now}'}.")
    for metric in ("roc_auc", metric_name("precision", record.operating_point.high), "ece"):
        now_value, before_value = record.test_metric("model", metric), previous.test_metric("model", metric)
        if now_value is not None and before_value is not None:
            lines.append(
                f"{row_label(metric)} : {french.number(before_value, 3)} → {french.number(now_value, 3)} "
                f"({french.signed(now_value - before_value, 3)}), chacune sur son propre pli de test."
            )
    return lines


def figures(record: VersionRecord) -> dict[str, float]:
    """Every registry figure the documents print, by its registry key (``chiffres.json``)."""
    keys = [f"test.{ranker}.{metric}" for metric in _metric_order(record) for ranker, _ in _RANKERS]
    keys += [row["key"] + s for row in versus_baselines(record) for s in ("", "_lower", "_upper")]
    return {key: record.metrics[key] for key in keys if key in record.metrics}


def error_risks(record: VersionRecord) -> dict[str, str]:
    """The two errors at the high cut, from the registry: false flags (1 − precision: the share of the
    « élevé » tier who do not drop out) and missed dropouts (1 − recall)."""
    high = record.operating_point.high
    precision = record.test_metric("model", metric_name("precision", high))
    recall = record.test_metric("model", metric_name("recall", high))
    return {
        "false_flags": french.percent(None if precision is None else 1 - precision),
        "missed": french.percent(None if recall is None else 1 - recall),
    }


def necessity_fr(record: VersionRecord) -> list[str]:
    """The model's gain over the environment alone and over the logistic regression, with the paired
    intervals training logged (``test.model_minus_<baseline>.*``): the figures of the necessity test."""
    lines = []
    for row in versus_baselines(record):
        lines.append(f"{row['label']}, modèle moins {row['baseline']} : {row['shown']} (`{row['key']}`)")
    return lines


def _deployers(value: str | None, hint: str) -> str:
    """A deployer's field as the dossier prints it: its value, or the bold marker with a hint (as the
    templates' ``field`` macro)."""
    shown = filled(value)
    return f"**{TO_COMPLETE}** — *{hint}*" if shown == TO_COMPLETE else shown


def school_years_fr(years: int, dated_by: str) -> str:
    """How long a retention in school years keeps something dated by ``dated_by``, in words."""
    if years == 0:
        return f"jusqu'à la fin de l'année scolaire {dated_by}"
    if years == 1:
        return f"jusqu'à la fin de l'année scolaire qui suit celle {dated_by}"
    return f"jusqu'à la fin de la {years}e année scolaire qui suit celle {dated_by}"


def context(
    record: VersionRecord, previous: VersionRecord | None, config: NoticeConfig, retention: Retention, today: date
) -> dict[str, Any]:
    """What the templates print."""
    point = record.operating_point
    return {
        "r": record,
        "point": point,
        "today": today,
        "config": config,
        "filled": filled,
        "name": public.NAME,
        "context_fr": public.CONTEXT,
        "purpose": public.purpose_fr(record),
        "intervention": public.intervention_fr(record),
        "automation": public.AUTOMATION,
        "excluded_uses": public.EXCLUDED_USES,
        "explanation": public.EXPLANATION_FR,
        "objection": public.OBJECTION_FR,
        "staff_judgement": public.STAFF_JUDGEMENT_FR,
        "stop": public.STOP_FR,
        "rights": public.rights_fr(),
        "glossary": public.GLOSSARY_FR,
        "synthetic_warning": public.SYNTHETIC_WARNING,
        "simulated": public.SIMULATED if record.synthetic_data else "",
        "source_code": public.source_code_fr(record, config),
        "necessity": necessity_fr(record),
        "errors": error_risks(record),
        "public_fr": public.public_fr(),
        "data_used": public.data_used_fr(record),
        "sources": public.SOURCES,
        "not_used": public.not_used_fr(),
        "model_type": public.model_type_fr(record),
        "operations": public.operations_fr(record, _deployers(config.pseudonymisation_key_keeper, "gardien de la clé")),
        "fairness_lines": public.fairness_fr(record),
        "reading": public.reading_fr(record),
        "rankers": [label for _, label in _RANKERS],
        "metric_rows": metric_rows(record),
        "versus_baselines": versus_baselines(record),
        "group_columns": list(GROUP_FIGURES_FR.values()),
        "group_tables": group_tables(record),
        "changes": changes(record, previous),
        "retention": retention,
        "score_retention": school_years_fr(retention.score_school_years, "de leur date d'observation"),
        "followup_retention": school_years_fr(retention.followup_school_years, "de leur clôture"),
        "audit_attributes": [ATTRIBUTE_LABELS_FR.get(c, c) for c in AUDIT_COLUMNS],
        "high": point.high_share_fr(),
        "precision_key": f"test.model.{metric_name('precision', point.high)}",
        "recall_key": f"test.model.{metric_name('recall', point.high)}",
        "n_features": len(record.features.features),
        "capacity_precision": _cell(record, "model", metric_name("precision", point.high)),
        "capacity_recall": _cell(record, "model", metric_name("recall", point.high)),
        "capacity_recall_percent": french.percent(record.test_metric("model", metric_name("recall", point.high))),
    }


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("serving", "templates/dossier"), undefined=StrictUndefined,
                      autoescape=False, keep_trailing_newline=True)  # fmt: skip  # Markdown: escaped when rendered
    env.filters.update(french.JINJA_FILTERS, num=lambda value, digits=3: french.number(value, digits))
    env.globals["TO_COMPLETE"] = TO_COMPLETE
    return env


_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
_STYLE: Final = (
    "body{font-family:Marianne,Arial,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
    "color:#161616}h1,h2,h3{color:#000091}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ddd;"
    "padding:.3rem .6rem;text-align:left}mark{background:#fee7fc}blockquote{border-left:4px solid #b34000;"
    "background:#fff4f3;margin:0;padding:.4rem 1rem}"
)


def markdown_html(markdown: str, title: str) -> str:
    """A self-contained French HTML page of ``markdown`` (raw HTML in it escaped), the deployer's
    fields highlighted."""
    body = _markdown.render(markdown)
    marker = f"<strong>{TO_COMPLETE}</strong>"
    body = body.replace(marker, f'<mark class="to-complete">{marker}</mark>')
    return (
        f'<!doctype html>\n<html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body>\n{body}</body></html>\n"
    )


def write_dossier(
    record: VersionRecord,
    previous: VersionRecord | None,
    config: NoticeConfig,
    retention: Retention,
    out: Path,
    *,
    today: date,
) -> list[Document]:
    """The four documents (Markdown and HTML) and ``chiffres.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    env = _environment()
    values = context(record, previous, config, retention, today)
    written = []
    for stem, title, template in DOCUMENTS:
        text = env.get_template(template).render(title=title, **values)
        markdown, html = out / f"{stem}.md", out / f"{stem}.html"
        markdown.write_text(text, encoding="utf-8")
        html.write_text(markdown_html(text, title), encoding="utf-8")
        written.append(Document(title, markdown, html, text.count(TO_COMPLETE)))
    payload = {"version": record.label, "run_id": record.run_id, "figures": figures(record)}
    (out / FIGURES_FILE).write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return written
