"""What the model learned from, said plainly (issue 28): the environment-only baseline it must beat,
the conditions of follow-up in its training years, and what the last impact evaluation found.

Once staff act on flags, a model retrained on the outcomes that followed learns from a world it
changed (performative prediction, Perdomo et al. 2020): if plans work, pupils like those helped look
less at risk next year. The card states the target as « risque de décrochage dans les conditions de
suivi des années d'apprentissage » (van Geloven et al.), names the training years in which Vigie was
deployed (from the score history), shows how much the top of the list moved from the champion, and
says so when the last ``vigie impact`` found an effect on dropout. Kept apart from the card's module:
the card includes this module's section (``templates/_learning_conditions.md.j2``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np

from features import french
from features.ingest import ContractError
from features.school import school_year_of
from models.impact_result import IMPACT_FILE, ImpactResult, read_impact
from models.metrics import Interval, top_k_mask
from models.operating_point import OperatingPoint
from models.paths import Paths
from models.registry import TrainingSplit
from training.gate import ChampionComparison, GateCheck, gap_figures
from training.train import TrainingResult

TARGET_FR: Final = "risque de décrochage dans les conditions de suivi des années d'apprentissage"
#: Below this gain in precision at the operating point, individual signals « add little ».
LITTLE_GAIN: Final = 0.02


@dataclass(frozen=True)
class LearningConditions:
    """The training years, those in which Vigie scored batches, and the last impact evaluation."""

    training_years: tuple[int, ...]
    deployed_years: tuple[int, ...]
    impact: ImpactResult | None = None

    @property
    def effect_found(self) -> bool:
        """Whether the last ``vigie impact`` found a non-zero effect of the flags on dropout."""
        return self.impact is not None and self.impact.dropout_effect_found

    def lines_fr(self) -> list[str]:
        """The card's sentences."""
        years = ", ".join(_year_fr(y) for y in self.training_years)
        deployed = ", ".join(_year_fr(y) for y in self.deployed_years)
        lines = [
            f"Cible apprise : {TARGET_FR} ({years}), pas le risque en l'absence de tout suivi.",
            (
                f"Vigie était déployé pendant {deployed} : une partie des élèves signalés ces années-là a été "
                "suivie, et leurs issues reflètent aussi ce suivi."
                if self.deployed_years
                else "Vigie n'était déployé pendant aucune des années d'apprentissage (aucun lot de scores "
                "de ces années dans l'historique)."
            ),
        ]
        if self.impact is not None:
            itt = self.impact.get("flag_to_dropout", "high")
            found = (
                f"La dernière évaluation d'impact (du {french.day(self.impact.from_)} au {french.day(self.impact.to)}, "
                f"modèle {self.impact.model_version}) a trouvé un écart de décrochage au seuil du niveau « élevé » "
                f"({french.signed(100 * (itt.estimate or 0), 1)} points) : ce modèle apprend en partie l'effet des "
                "suivis ; les élèves aidés peuvent paraître moins à risque qu'ils ne l'étaient."
            )
            lines.append(found if self.effect_found else f"Dernière évaluation d'impact : {self.impact.verdict.text}")
        return lines

    def gate_check(self) -> GateCheck:
        """For the gate's log (informational, never blocks): the learning conditions in one line."""
        detail = " ".join(self.lines_fr()[1:])
        return GateCheck("learning_conditions", "Conditions d'apprentissage (suivi, impact)", None, detail)


def _year_fr(year: int) -> str:
    return f"{year}-{year + 1}"


def learning_conditions(split: TrainingSplit, scored: Sequence[date], data_dir: Path) -> LearningConditions:
    """From the training fold's dates, the dates of the batches the score history keeps (``scored``:
    serving's reader, handed in by the CLI) and the last ``impact.json`` under ``data_dir``."""
    training = sorted({school_year_of(d) for d in split.train})
    deployed = {school_year_of(day) for day in scored}
    impact_file = Paths(data_dir).impact / IMPACT_FILE
    try:
        impact = read_impact(impact_file) if impact_file.exists() else None
    except ContractError:
        impact = None  # an evaluation from another Vigie: not read, not claimed
    return LearningConditions(tuple(training), tuple(y for y in training if y in deployed), impact)


def high_tier_overlap(candidate: np.ndarray, champion: np.ndarray, pupils: np.ndarray, point: OperatingPoint) -> float:
    """Share of the candidate's high tier also in the champion's, on the same rows (1 = the same list)."""
    ours = top_k_mask(candidate, point.high, pupils=pupils)
    theirs = top_k_mask(champion, point.high, pupils=pupils)
    return float((ours & theirs).sum() / max(int(ours.sum()), 1))


def environment_sentence(gains: dict[str, Interval], point: OperatingPoint) -> str | None:
    """Is profiling each pupil needed? The gain over the environment-only baseline, said plainly."""
    if not gains:
        return None
    precision = next((g for name, g in gains.items() if name != "roc_auc"), None)
    plain = (
        "les signaux individuels apportent peu par rapport à l'environnement de l'élève : le profilage de "
        "chaque élève est difficile à justifier (RGPD, art. 5(1)(c) et 35)"
        if precision is None or precision.lower <= 0 or precision.value < LITTLE_GAIN
        else "les signaux individuels apportent nettement plus que l'environnement de l'élève"
    )
    return (
        "Écart avec le modèle d'environnement (établissement, niveau, voie et leurs taux de décrochage passés "
        f"connus à la date ; aucun signal individuel), au seuil de {point.high_share_fr()} : {gap_figures(gains)} ; "
        f"{plain}."
    )


def card_lines(result: TrainingResult, champion: ChampionComparison, conditions: LearningConditions) -> tuple[str, ...]:
    """The card's section « Ce que le modèle a appris, et de quel monde »: its sentences in order."""
    lines = list(conditions.lines_fr())
    if champion.high_overlap is not None:
        lines.append(
            f"Haut de liste : {french.percent(champion.high_overlap)} des élèves du niveau « élevé » de ce modèle "
            f"(les {result.operating_point.high_share_fr()} de risque le plus élevé du pli de test) y sont aussi "
            f"avec le champion actuel ({champion.detail})."
        )
    environment = environment_sentence(result.versus_environment, result.operating_point)
    if environment is not None:
        lines.append(environment)
    return tuple(lines)


def accountability_checks(
    result: TrainingResult, champion: ChampionComparison, conditions: LearningConditions
) -> list[GateCheck]:
    """Informational lines of the gate's log: the gain over the environment-only baseline, the learning
    conditions (and the overlap of the high tiers with the champion). They never block promotion."""
    gains = result.versus_environment
    precision = next((g for name, g in gains.items() if name != "roc_auc"), None)
    checks = [
        GateCheck(
            "beats_environment",
            "Gain sur le modèle d'environnement (aucun signal individuel)",
            None if precision is None else precision.lower > 0,
            f"modèle moins environnement : {gap_figures(gains)}" if gains else "non comparé",
        ),
        conditions.gate_check(),
    ]
    if champion.high_overlap is not None:
        checks[
            -1
        ].detail += f" Recouvrement des niveaux « élevé » avec le champion : {french.percent(champion.high_overlap)}."
    return checks


def last_pre_deployment_date(labelled: Sequence[date], scored: Sequence[date], horizon_days: int) -> date | None:
    """The last as-of date whose whole horizon ended before Vigie's first batch: the newest cohort whose
    outcomes no flag could have changed; None when Vigie never scored or no such cohort is labelled."""
    if not scored:
        return None
    first = min(scored)
    before = [d for d in labelled if d + timedelta(days=horizon_days) <= first]
    return max(before) if before else None


def pre_deployment_check(cohort: date | None, comparison: ChampionComparison | None, ours: float | None) -> GateCheck:
    """For the gate's log (informational): the challenger and the champion on the last pre-deployment
    cohort, where outcomes are those of a world without flags."""
    label = "Comparaison avec le champion sur la dernière cohorte d'avant le déploiement"
    if cohort is None or comparison is None or comparison.metrics is None or ours is None:
        why = "aucune cohorte d'avant le déploiement" if cohort is None else "champion absent ou non comparable"
        return GateCheck("pre_deployment", label, None, why)
    theirs = next(v for k, v in comparison.metrics.items() if k.startswith("precision_at_") and "school" not in k)
    return GateCheck(
        "pre_deployment",
        label,
        None,
        f"cohorte du {french.day(cohort)} : précision {french.number(ours, 3)} contre {french.number(theirs, 3)} "
        "pour le champion (cette cohorte peut avoir servi à l'entraînement de l'un ou de l'autre : à lire avec "
        "prudence)",
    )
