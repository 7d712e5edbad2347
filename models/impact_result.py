"""``impact.json``: the stable, documented schema ``vigie impact`` (impact/) writes and other stages
read (training's card and gate log, the dossier): a typed hand-off with its home in models/.
Version 1; a reader refuses another version. Estimates are in probability units (0.45, not 45),
above the cut minus below. The pooled estimates carry no ``as_of``.

``design`` says which comparison a file holds: ``"cut"`` (the default; the regression discontinuity
at the capacity cuts) or ``"stagger"`` (``vigie impact --design stagger``: schools that had started
against schools not yet started, in the same school year, under a staggered start; issue 28). The
stagger design was added compatibly: every file written before still reads the same. Its one
estimate is ``stagger_dropout``, with ``cut`` null, ``n_left`` the pupils of schools not yet started,
``n_right`` those of started schools, ``estimate`` started minus not started, ``bandwidth`` null and
``clusters`` the schools; ``stagger`` then describes the draw and ``verdict_by_cut`` is empty.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.operating_point import OperatingPoint
from models.stored import parse_stored

IMPACT_VERSION: Final = 1
IMPACT_FILE: Final = "impact.json"
EstimateName = Literal["flag_to_plan", "flag_to_dropout", "plan_to_dropout", "stagger_dropout"]
CutName = Literal["high", "medium"]
VerdictCode = Literal["too_small", "effect", "no_effect_detected"]


class Estimate(BaseModel):
    """One RD estimate at one cut; withheld (estimate and interval None) under the disclosure threshold
    or when the data cannot carry a fit."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: EstimateName
    cut: CutName | None = Field(description="the cut; None for the stagger design")
    estimate: float | None = Field(
        description="above the cut minus below (stagger: started minus not started), probability units"
    )
    ci_low: float | None = Field(
        description="95 % interval clustered by school: robust bias-corrected (cut), cluster-robust OLS (stagger)"
    )
    ci_high: float | None
    n_left: int = Field(description="rows below the cut within the bandwidth (stagger: in schools not yet started)")
    n_right: int = Field(description="rows above the cut within the bandwidth (stagger: in started schools)")
    bandwidth: float | None = Field(description="in rank distance (share of the batch's scope)")
    clusters: int = 0
    mde: float | None = Field(description="minimum detectable effect at 80 % power (None for flag_to_plan)")
    p_value: float | None = None
    rate_below: float | None = Field(
        default=None, description="the outcome's level just below the cut (stagger: in schools not yet started)"
    )
    withheld: bool = False
    as_of: date | None = None

    @classmethod
    def not_shown(cls, name: EstimateName, cut: CutName | None, n_left: int, n_right: int) -> Estimate:
        """Not shown: too few pupils (or events) on a side of the cut, or no fit possible."""
        return cls(name=name, cut=cut, estimate=None, ci_low=None, ci_high=None, n_left=n_left, n_right=n_right,
                   bandwidth=None, mde=None, withheld=True)  # fmt: skip

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly on one side of zero."""
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


class Check(BaseModel):
    """A check reported beside the estimates: density test, placebo signal, placebo cut, bandwidth."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal["density", "placebo_signal", "placebo_cut", "bandwidth", "balance", "randomisation"]
    cut: CutName | None = None
    subject: str
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    #: True: nothing suspicious; False: the check failed; None: could not be run or withheld.
    passed: bool | None = None


class Verdict(BaseModel):
    """What the evaluation lets one say about dropout at the high cut, in French."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: VerdictCode
    text: str


class StaggerInfo(BaseModel):
    """The draw a stagger-design evaluation read, and what it compared (``design == "stagger"`` only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    first_year: int
    waves: int
    seed: int
    drawn_at: datetime
    drawn_by: str
    school_years: list[int] = Field(description="school years with schools on both sides, the ones compared")
    schools_started: int = Field(description="schools started in at least one compared year")
    schools_not_started: int = Field(description="schools not yet started in at least one compared year")
    outside_draw: int = Field(default=0, description="rows of schools outside the draw, left out")


class ImpactResult(BaseModel):
    """The whole of ``impact.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    version: Literal[1] = IMPACT_VERSION
    model_version: str
    operating_point: OperatingPoint
    from_: date = Field(alias="from")
    to: date
    batches: list[date]
    plan_window_days: int
    all_batches: bool
    design: Literal["cut", "stagger"] = "cut"
    rows: int
    clusters: int
    estimates: list[Estimate]
    checks: list[Check]
    verdict: Verdict
    verdict_by_cut: dict[CutName, Verdict]
    stagger: StaggerInfo | None = None

    def get(self, name: EstimateName, cut: CutName | None = "high") -> Estimate:
        """The pooled estimate of that name at that cut."""
        return next(e for e in self.estimates if e.name == name and e.cut == cut and e.as_of is None)

    def to_json(self) -> str:
        """``impact.json``'s text: the fields by their schema names (``from``, not ``from_``)."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False)

    @property
    def dropout_effect_found(self) -> bool:
        """Whether the dropout interval (intention to treat at the high cut, or started against not yet
        started schools) excludes zero."""
        return self.verdict.code == "effect"


def read_impact(path: Path) -> ImpactResult:
    """A stored ``impact.json``, checked: another version is refused, naming the file."""
    values = json.loads(path.read_text(encoding="utf-8"))
    return parse_stored(
        ImpactResult, values, version_key="version", version=IMPACT_VERSION, where=str(path),
        what="impact evaluation", remedy="run 'vigie impact' again with this Vigie",
    )  # fmt: skip
