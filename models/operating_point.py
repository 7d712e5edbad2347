"""The operating point of a model: the one home of the horizon, the capacity and the tiers' shape.

Decided once, when a model is trained (from the training config and the features' horizon),
logged with the model version beside its feature metadata, and read back by scoring, audits,
monitoring, the service, the pages, the model card and every report. A command may override a
value explicitly (``vigie score --high``, ``vigie audit --capacity``): the override is recorded
in :attr:`OperatingPoint.overridden`, which travels with the batch or report it produced.

Every French text that names the horizon or the capacity takes it from here.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features import french
from features.school import DEFAULT_HORIZON_DAYS
from models.stored import parse_stored

#: The high tier's share unless the training config says otherwise: the pupils a school can follow.
DEFAULT_HIGH_SHARE: Final = 0.10
#: The next band after the high tier.
DEFAULT_MEDIUM_SHARE: Final = 0.20
#: Reasons shown for a pupil of the high and medium tiers.
DEFAULT_REASONS: Final = 3
#: The run artifact holding a version's operating point, beside its feature metadata.
OPERATING_POINT_ARTIFACT: Final = "operating_point.json"
OPERATING_POINT_VERSION: Final = 1

Scope = Literal["overall", "school"]


class TierShares(BaseModel):
    """How a batch is cut into tiers: the part of the operating point a training config sets
    (the horizon comes from the features the model is trained on)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    high: float = Field(default=DEFAULT_HIGH_SHARE, gt=0, lt=1, description="share of pupils in the high tier")
    medium: float = Field(default=DEFAULT_MEDIUM_SHARE, ge=0, lt=1, description="share in the next band")
    scope: Scope = Field(default="overall", description="tiers over every school, or within each school")
    reasons: int = Field(default=DEFAULT_REASONS, ge=1, le=10, description="reasons shown per pupil")

    @model_validator(mode="after")
    def _shares_fit(self) -> TierShares:
        if self.high + self.medium > 1:
            raise ValueError(f"high ({self.high}) and medium ({self.medium}) shares add up to more than 1")
        return self


class OperatingPoint(TierShares):
    """Horizon, high and medium shares, scope and reasons of a model version."""

    version: Literal[1] = OPERATING_POINT_VERSION
    horizon_days: int = Field(default=DEFAULT_HORIZON_DAYS, gt=0, description="label horizon H, days")
    #: The fields set by an explicit override (a command's option), not decided at training.
    overridden: tuple[str, ...] = ()

    @classmethod
    def decided(cls, shares: TierShares, horizon_days: int) -> OperatingPoint:
        """The point a training run decides: its config's shares at its features' horizon."""
        return cls(**shares.model_dump(), horizon_days=horizon_days)

    def override(self, **changes: Any) -> OperatingPoint:
        """The same point with ``changes`` (None values ignored), each recorded as overridden."""
        given = {k: v for k, v in changes.items() if v is not None}
        unknown = set(given) - set(TierShares.model_fields)
        if unknown:
            raise ValueError(f"not an operating point setting a command may override: {sorted(unknown)}")
        if not given:
            return self
        values = {**self.model_dump(), **given, "overridden": tuple(sorted({*self.overridden, *given}))}
        return OperatingPoint.model_validate(values)

    def tiers(self) -> TierShares:
        """The shares the model was trained for, as the training config states them (the horizon is the features')."""
        return TierShares(high=self.high, medium=self.medium, scope=self.scope, reasons=self.reasons)

    # --- French, the one place these phrases are made ---------------------------------------

    def horizon_fr(self) -> str:
        """``6 mois`` for 180 days, ``12 mois`` for 365, ``45 jours`` otherwise."""
        return french.horizon(self.horizon_days)

    def within_fr(self) -> str:
        """``dans les 6 mois``."""
        return f"dans les {self.horizon_fr()}"

    def high_share_fr(self) -> str:
        """``15 %``."""
        return french.percent(self.high)

    def medium_share_fr(self) -> str:
        """``20 %``: the medium tier's share."""
        return french.percent(self.medium)

    def high_group_fr(self) -> str:
        """``les 15 % d'élèves au risque le plus élevé``."""
        return f"les {self.high_share_fr()} d'élèves au risque le plus élevé"

    def scope_fr(self) -> str:
        """Over which pupils the tiers are cut, in French: each school's own or all schools followed."""
        return "de l'établissement" if self.scope == "school" else "de l'ensemble des établissements suivis"

    def tiers_fr(self) -> str:
        """The priority tiers alone: ``niveau « élevé » : … ; niveau « moyen » : les 20 % suivants``."""
        return (
            f"niveau « élevé » : {self.high_group_fr()} {self.scope_fr()} ; niveau « moyen » : les "
            f"{self.medium_share_fr()} suivants"
        )

    def describe_fr(self) -> str:
        """The whole point in one sentence, saying which values a command overrode."""
        text = f"Risque de décrochage {self.within_fr()} ; {self.tiers_fr()}"
        if self.overridden:
            shown = ", ".join(_OVERRIDE_FR[name] for name in self.overridden)
            text += f" (réglage imposé à l'exécution, différent de celui de l'entraînement : {shown})"
        return text + "."


_OVERRIDE_FR = {"high": "part du niveau élevé", "medium": "part du niveau moyen", "scope": "périmètre",
                "reasons": "nombre de raisons"}  # fmt: skip


def parse_operating_point(values: Any, where: str) -> OperatingPoint:
    """A stored operating point, checked: a version this code does not know is refused, naming it."""
    return parse_stored(
        OperatingPoint, values, version_key="version", version=OPERATING_POINT_VERSION, where=where,
        what="operating point", remedy="retrain the model with this Vigie",
    )  # fmt: skip


def operating_point_json(point: OperatingPoint) -> str:
    """The operating point as the JSON stored with the model version (its one writer)."""
    return json.dumps(point.model_dump(mode="json"), indent=2)
