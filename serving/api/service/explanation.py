"""The explanation a family may ask for, and why a risk changed: for the API and the pages alike.

The explanation answers CRPA L311-3-1 and R311-3-1-2 item by item — (1) the degree and mode of
contribution of the algorithm, (2) the data and their sources, (3) the parameters and their
weighting applied to the pupil, (4) the operations — and GDPR 15(1)(h) and 22 (meaningful
information about the logic). Its French texts derive the horizon, the capacity and the tiers
from the batch's operating point. Issuing one is traced in the access log, under its own route.

Why a risk changed is the difference of the pupil's explanations at the previous batch and at
this one (:func:`models.explanation.score_change`), recomputed from the model inputs the score
history keeps, when the same model scored both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final, Literal

import numpy as np
from pydantic import BaseModel, Field

from features import french
from features.catalog import FEATURES, SOURCE_TABLES, tables_of
from features.school import Tier
from models.explanation import InputContribution, ScoreChange, SignalChange, pupil_contributions, score_change
from models.operating_point import OperatingPoint
from serving.api.schemas import Change
from serving.api.service.context import AccessContext
from serving.api.service.reads import reach_pupil
from serving.api.state import Serving

#: The tiers as the operating point's sentences name them (« niveau « élevé » »).
TIER_WORDS: Final = {"high": "élevé", "medium": "moyen", "low": "faible"}
CALIBRATION_FR: Final = {"sigmoid": "méthode de Platt (sigmoïde)", "isotonic": "régression isotonique"}
LEGAL_BASIS_FR: Final = (
    "Document remis à la demande de l'élève ou de ses représentants légaux, en application de l'article "
    "L311-3-1 du code des relations entre le public et l'administration (son contenu suit l'article "
    "R311-3-1-2) et des articles 15 (paragraphe 1, h) et 22 du règlement général sur la protection des "
    "données. Sans réponse dans le mois qui suit une demande, la Commission d'accès aux documents "
    "administratifs (CADA) peut être saisie."
)
OUTCOMES_FR: Final = (
    "Les sorties sans diplôme des années passées (table des sorties, déclarées au système "
    "interministériel d'échange d'informations, SIEI) ont servi à l'apprentissage du modèle ; elles "
    "n'entrent pas dans le calcul de ce score."
)
_LABELS = {f.name: f.label_fr for f in FEATURES}
#: The smallest change of contribution (log-odds) the pupil page shows: it shows two decimals.
SHOWN_CHANGE: Final = 0.005


class SourceTableUse(BaseModel):
    """A table the model read for this score, its source system and the inputs computed from it."""

    table: str = Field(examples=["attendance"])
    content: str
    source: str
    inputs: list[str] = Field(description="The French labels of the inputs computed from it.")


class PupilExplanation(BaseModel):
    """The explanation of one pupil's score at one batch (CRPA R311-3-1-2; GDPR 15(1)(h), 22).

    ``base_value``, ``score`` and each input's ``contribution`` are on one scale, log-odds, where
    ``base_value + sum(contributions) == score``; ``risk`` is the calibrated probability staff read,
    a monotone function of ``score`` (``raw_probability`` is ``score`` before calibration)."""

    pupil_id: str
    school_id: str
    grade_level: str
    as_of: date
    model_version: str
    issued_at: datetime
    risk: float = Field(ge=0, le=1, description="Calibrated risk, as the pages and lists show it.")
    tier: Tier
    scale: Literal["log-odds"] = "log-odds"
    base_value: float = Field(description="The model's mean raw score, log-odds.")
    score: float = Field(description="The pupil's raw score, log-odds: base_value + sum of the contributions.")
    raw_probability: float = Field(ge=0, le=1, description="1 / (1 + exp(-score)), before calibration.")
    calibration: str = Field(description="The calibration method mapping the raw score to the risk.")
    inputs: list[InputContribution] = Field(description="Every model input, the weightiest contribution first.")
    tables: list[SourceTableUse] = Field(description="Every table the inputs were computed from, with its source.")
    legal_basis: str
    contribution_fr: str = Field(description="(1) Degree and mode of contribution of the algorithm to the decision.")
    tiers_fr: str = Field(description="What the tiers mean at this batch, and the pupil's.")
    scale_fr: str = Field(description="How the contributions add up to the score, and the link to the risk.")
    data_fr: str = Field(description="(2) The data and their sources, in one paragraph (the tables follow).")
    operations_fr: list[str] = Field(description="(4) The operations carried out, in order.")


class PupilChange(BaseModel):
    """Why the pupil's risk changed since the previous batch: the signals that moved it, whose
    ``contribution_change`` add up to ``score_change`` (log-odds). ``explained`` is false, with the
    reason in ``why_not``, when there is no previous batch of the pupil or another model scored it."""

    pupil_id: str
    as_of: date
    model_version: str
    previous_as_of: date | None
    previous_model_version: str | None
    risk: float = Field(ge=0, le=1)
    previous_risk: float | None
    change: Change
    explained: bool
    why_not: str | None = Field(default=None, description="In French, why the change is not broken down.")
    scale: Literal["log-odds"] = "log-odds"
    detail: ScoreChange | None = Field(default=None, description="Both raw scores and every signal's change.")

    def moved(self, direction: Literal["up", "down"], k: int = 3) -> list[SignalChange]:
        """The ``k`` signals that moved the risk most ``direction``, as the pupil page lists them:
        a change too small to show at two decimals is not one."""
        if self.detail is None:
            return []
        sign = 1 if direction == "up" else -1
        return [s for s in self.detail.signals if sign * s.contribution_change >= SHOWN_CHANGE][:k]


def _tier_sentence(served: Serving, tier: str, school_id: str) -> str:
    metadata = served.batch.metadata
    cuts = metadata.thresholds.high
    cut = cuts.get(school_id, cuts.get("all"))
    at = "" if cut is None else f" À ce lot, le niveau « élevé » commence à un risque de {french.percent(cut, 1)}."
    return (
        f"{metadata.operating_point.describe_fr()}{at} Le {french.day(served.batch.as_of)}, cet élève est au "
        f"niveau « {TIER_WORDS[tier]} ». Ces niveaux disent à l'équipe vers qui se tourner d'abord, selon ce "
        "qu'elle peut accompagner ; ils ne sont pas un diagnostic."
    )


def _contribution_sentence(point: OperatingPoint) -> str:
    return (
        "Vigie ne prend aucune décision. Il estime pour chaque élève un risque de décrochage "
        f"{point.within_fr()} et le montre aux seuls personnels de l'établissement de l'élève (chef "
        "d'établissement, conseiller principal d'éducation, professeur principal) : c'est une aide, qui "
        "attire leur attention sur certains élèves. Toute décision — un entretien, un accompagnement, un "
        "plan de suivi — est prise par une personne, après un échange avec l'élève, sa famille et l'équipe, "
        "et peut s'écarter du score. Le score ne sert ni à l'orientation, ni à l'affectation, ni à une sanction."
    )


def _scale_sentence(explained_score: float, base: float, risk: float, method: str, *, weighted: bool) -> str:
    raw = float(1 / (1 + np.exp(-explained_score)))
    why = (
        f" Avant calibration, ce score brut se lit comme une probabilité de {french.percent(raw, 1)} : "
        "l'apprentissage donne plus de poids aux élèves qui ont décroché, pour mieux les reconnaître, et la "
        "calibration ramène ce chiffre à la fréquence réellement observée."
        if weighted
        else ""
    )
    return (
        "Les contributions sont des valeurs de Shapley exactes, exprimées en log-cotes (le logarithme du "
        "rapport entre le risque et son contraire), l'échelle sur laquelle elles s'additionnent exactement : "
        f"score de base du modèle ({french.number(base, 3)}) + somme des contributions "
        f"({french.signed(explained_score - base, 3)}) = score brut de l'élève ({french.number(explained_score, 3)}). "
        "Une contribution positive augmente le risque, une contribution négative le diminue. Le risque "
        f"affiché ({french.percent(risk, 1)}) est obtenu à partir de ce score brut par une calibration "
        f"({method}) ajustée sur des données plus récentes que celles de l'apprentissage : elle conserve "
        "l'ordre des scores, mais les contributions ne s'additionnent pas en points de pourcentage."
        f"{why}"
    )


def _tables(features: list[str]) -> list[SourceTableUse]:
    used: dict[str, list[str]] = {}
    for feature in features:
        for table in tables_of(feature):
            used.setdefault(table, []).append(_LABELS[feature])
    return [
        SourceTableUse(table=t.name, content=t.content_fr, source=t.source_fr, inputs=used[t.name])
        for t in SOURCE_TABLES
        if t.name in used
    ]


def _operations(served: Serving, point: OperatingPoint, method: str) -> list[str]:
    model, batch = served.model, served.batch
    trained = model.features.as_of_dates
    span = f" (instantanés du {french.day(min(trained))} au {french.day(max(trained))})" if trained else ""
    return [
        "Extraction : les tables ci-dessous, exportées des logiciels de l'établissement, sont pseudonymisées "
        "(l'identifiant national de l'élève est remplacé par un pseudonyme, les noms sont retirés) puis "
        "vérifiées une à une ; une donnée non conforme est signalée, jamais ignorée en silence.",
        f"Indicateurs : les {len(batch.features)} indicateurs de l'élève sont calculés à la date du "
        f"{french.day(batch.as_of)}, à partir des seules données datées de ce jour ou d'avant.",
        f"Modèle {model.label} : un ensemble d'arbres de décision (LightGBM) appris sur les élèves des "
        f"années passées{span}, dont on sait s'ils ont quitté l'école sans diplôme {point.within_fr()}. Il "
        "donne un score brut, somme d'une base commune et de la contribution de chaque indicateur.",
        f"Calibration ({method}) : le score brut devient un risque estimé de décrochage {point.within_fr()}.",
        f"Coupe de capacité : les élèves sont classés par risque estimé ; {point.describe_fr()}",
        "Présentation : le risque, son niveau et ses principales raisons sont montrés aux personnels de "
        "l'établissement de l'élève seulement ; chaque consultation, et la remise de ce document, est "
        "inscrite au journal des accès.",
    ]


def pupil_explanation(served: Serving, ctx: AccessContext, pupil_id: str) -> PupilExplanation:
    """The explanation of a pupil of the caller's school at the served batch; its issue traced
    (404, traced, outside the caller's reach, as for any pupil)."""
    position = reach_pupil(served, ctx, pupil_id)
    batch, model = served.batch, served.model
    school, level = str(batch.school[position]), str(batch.grade_level[position])
    values = batch.inputs[position : position + 1]
    explained = pupil_contributions(model.estimator.contributions(values)[0], values[0], batch.features, level,
                                    batch.references)  # fmt: skip
    point = batch.metadata.operating_point  # the point the batch's tiers were cut at
    method = CALIBRATION_FR.get(model.estimator.calibration, model.estimator.calibration)
    risk = float(batch.risk[position])
    ctx.trace(200, school_id=school, pupil_id=pupil_id)
    return PupilExplanation(
        pupil_id=pupil_id,
        school_id=school,
        grade_level=level,
        as_of=batch.as_of,
        model_version=model.label,
        issued_at=datetime.now(UTC),
        risk=risk,
        tier=batch.tier[position],
        base_value=explained.base_value,
        score=explained.score,
        raw_probability=float(1 / (1 + np.exp(-explained.score))),
        calibration=method,
        inputs=explained.inputs,
        tables=_tables(batch.features),
        legal_basis=LEGAL_BASIS_FR,
        contribution_fr=_contribution_sentence(point),
        tiers_fr=_tier_sentence(served, str(batch.tier[position]), school),
        scale_fr=_scale_sentence(
            explained.score, explained.base_value, risk, method, weighted=model.estimator.positive_weight != "none"
        ),
        data_fr=(
            f"Le modèle lit {len(batch.features)} indicateurs, calculés à partir des tables ci-dessous, "
            "et seulement des colonnes qu'ils utilisent. Il ne lit ni le nom de l'élève, ni son identifiant "
            f"national, ni aucune donnée sur sa famille, sa santé ou sa situation sociale. {OUTCOMES_FR}"
        ),
        operations_fr=_operations(served, point, method),
    )


def change_of(served: Serving, position: int) -> PupilChange:
    """Why the risk of the pupil at ``position`` changed since the previous batch; untraced (the
    caller has reached the pupil already)."""
    batch, model = served.batch, served.model
    previous = batch.previous_inputs
    previous_risk = float(batch.previous_risk[position])
    base = {
        "pupil_id": str(batch.index[position]),
        "as_of": batch.as_of,
        "model_version": model.label,
        "risk": float(batch.risk[position]),
        "previous_risk": None if np.isnan(previous_risk) else previous_risk,
        "change": batch.change[position],
        "previous_as_of": previous.as_of if previous else None,
        "previous_model_version": previous.model_version if previous else None,
    }
    if previous is None:
        return PupilChange(**base, explained=False, why_not="Aucun lot de scores précédent n'est conservé.")
    if previous.model_version != model.label:
        return PupilChange(**base, explained=False, why_not=(
            f"Le lot précédent a été calculé par un autre modèle ({previous.model_version}) : l'écart "
            "mêle le changement de modèle et celui des données, il ne se décompose pas en signaux."
        ))  # fmt: skip
    before = previous.row(position, batch.features)
    if before is None:
        return PupilChange(**base, explained=False, why_not="L'élève n'était pas dans le lot précédent.")
    now = batch.inputs[position : position + 1]
    contributions = model.estimator.contributions(np.vstack([before, now]))
    detail = score_change(contributions[0], contributions[1], before[0], now[0], batch.features)
    return PupilChange(**base, explained=True, detail=detail)


def pupil_change(served: Serving, ctx: AccessContext, pupil_id: str) -> PupilChange:
    """Why a pupil's risk changed, traced; 404 (traced) outside the caller's reach."""
    position = reach_pupil(served, ctx, pupil_id)
    ctx.trace(200, school_id=str(served.batch.school[position]), pupil_id=pupil_id)
    return change_of(served, position)
