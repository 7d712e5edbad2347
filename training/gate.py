"""The promotion gate: a pure function from a candidate's test-fold figures (and the champion's,
the fairness audit's, the logistic comparison's) to a typed decision. No MLflow here:
:mod:`training.tracking` computes the inputs, then only records the decision (``gate.json``,
the version's tag, the ``champion`` alias) and the model card shows it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from features import french
from models.base_rates import BaseRateShift
from models.metrics import Interval, capacity_of, metric_name
from training.config import GateConfig

#: The run artifact recording the decision; its version is checked by whoever reads it back.
GATE_ARTIFACT: Final = "gate.json"
GATE_DECISION_VERSION: Final = 1


def gap_label(metric: str) -> str:
    """A compared metric's French name on the card and in the gate's report: ``ROC AUC``, ``précision à 10 %``."""
    capacity = capacity_of(metric)
    return "ROC AUC" if capacity is None else f"précision à {french.percent(capacity[1])}"


def gap_figures(gaps: dict[str, Interval]) -> str:
    """``ROC AUC +0,001 [-0,002 ; +0,004] ; précision à 10 % ...``: the card's and the gate's."""
    return " ; ".join(
        f"{gap_label(name)} {french.signed(g.value, 3)} [{french.signed(g.lower, 3)} ; {french.signed(g.upper, 3)}]"
        for name, g in gaps.items()
    )


class FairnessOutcome(Protocol):
    """What training needs of a fairness audit (``fairness.review.FairnessReview`` is one).

    Training does not import the fairness package: the CLI hands the audit in as a
    :data:`FairnessCheck`, so the promotion gate can judge it.
    """

    @property
    def passed(self) -> bool:
        """Whether the audit found no disparity past its tolerances (the gate's « fair » check)."""
        ...

    @property
    def detail(self) -> str:
        """The audit's verdict in one French sentence, for the gate's report."""
        ...

    def summary_lines(self) -> list[str]:
        """The audit's findings in a few French lines, for the model card."""
        ...

    def write(self, folder: Path, model: str | None = None) -> list[Path]:
        """Write the full audit report into ``folder`` (logged with the run) and return its files."""
        ...


@dataclass
class ChampionComparison:
    """Where the candidate stands against the current champion, on the same test fold."""

    state: Literal["none", "compared", "unscorable", "not_registered"]
    detail: str  # French, for the gate's report
    metrics: dict[str, float] | None = None
    #: Share of the candidate's high tier also in the champion's, on the test fold (issue 28).
    high_overlap: float | None = None


GateCheckKind = Literal[
    "beats_abc", "calibrated", "beats_champion", "not_worse_than_logistic", "fair",
    # Informational, added after the decision (training/learning_conditions.py): never block.
    "beats_environment", "learning_conditions", "pre_deployment",
]  # fmt: skip


@dataclass
class GateCheck:
    """One check of the promotion gate, with its French label and what was found."""

    kind: GateCheckKind
    label: str
    passed: bool | None  # None: not evaluated
    detail: str

    def __post_init__(self) -> None:
        if self.passed is not None:
            self.passed = bool(self.passed)  # numpy booleans are not True


class GateDecision(BaseModel):
    """Promoted or not, and every check with its French label and detail (typed, versioned)."""

    model_config = ConfigDict(frozen=True)
    version: Literal[1] = GATE_DECISION_VERSION
    promoted: bool
    checks: list[GateCheck] = []

    def check(self, kind: GateCheckKind) -> GateCheck:
        """The check of ``kind`` (every decision holds each kind once)."""
        return next(c for c in self.checks if c.kind == kind)

    def as_dict(self) -> dict[str, Any]:
        """The decision as plain JSON, for MLflow and the model card."""
        return {"promoted": self.promoted, "checks": [asdict(c) for c in self.checks]}


def promotion_gate(
    metrics: dict[str, float],
    abc_metrics: dict[str, float],
    champion: ChampionComparison,
    gate: GateConfig,
    fairness: FairnessOutcome | None = None,
    versus_logistic: dict[str, Interval] | None = None,
) -> GateDecision:
    """Better than the champion and the ABC rule at the gate's capacity, calibrated, not beaten
    by the logistic baseline beyond the noise, fair. A required check not evaluated blocks."""
    capacity = gate.capacity
    key = metric_name("precision", capacity)
    ours = metrics[key]
    if champion.metrics is not None:
        beats_champion: bool | None = ours > champion.metrics[key]
        champion_detail = f"{ours:.4f} contre {champion.metrics[key]:.4f} sur le même pli de test"
    else:  # with no champion yet there is nothing to beat; otherwise it could not be compared
        beats_champion, champion_detail = champion.state == "none", champion.detail
    checks = [
        GateCheck(
            "beats_abc",
            f"Précision à {french.percent(capacity)} supérieure à la règle ABC",
            ours > abc_metrics[key],
            f"{ours:.4f} contre {abc_metrics[key]:.4f}",
        ),
        GateCheck(
            "calibrated",
            f"Erreur de calibration au plus {gate.max_ece}",
            metrics["ece"] <= gate.max_ece,
            f"ECE {metrics['ece']:.4f}",
        ),
        GateCheck("beats_champion", "Meilleure que le champion actuel", beats_champion, champion_detail),
        GateCheck(
            "not_worse_than_logistic",
            "Pas nettement moins bonne que la régression logistique",
            not any(g.upper < 0 for g in versus_logistic.values()) if versus_logistic else None,
            f"modèle moins logistique : {gap_figures(versus_logistic)}" if versus_logistic else "non comparée",
        ),
        GateCheck(
            "fair",
            "Audit d'équité",
            fairness.passed if fairness is not None else None,
            fairness.detail if fairness is not None else "audit d'équité non évalué (aucun audit fourni)",
        ),
    ]
    optional = {"fair": not gate.require_fairness, "not_worse_than_logistic": not gate.not_worse_than_logistic}
    required = [c for c in checks if not optional.get(c.kind, False)]
    return GateDecision(promoted=all(c.passed is True for c in required), checks=checks)


def with_base_rate_cause(decision: GateDecision, shift: BaseRateShift | None) -> GateDecision:
    """The decision, its failed calibration check naming a moved base rate as the likely cause.

    The verdict is unchanged: a model whose risks are off on the test fold is not promoted
    whatever the reason; the data scientist is told what moved, by how much, and what to do."""
    calibrated = decision.check("calibrated")
    if shift is None or calibrated.passed is not False:
        return decision
    cause = (
        f" ; cause probable : {shift.sentence_fr('le pli de test')} Réentraîner avec les dates les plus récentes, "
        "ou suivre le taux lot par lot avec vigie monitor."
    )
    checks = [replace(c, detail=c.detail + cause) if c.kind == "calibrated" else c for c in decision.checks]
    return decision.model_copy(update={"checks": checks})
