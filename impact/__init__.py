"""Does flagging help? The impact evaluation of the flags at the capacity cuts (``vigie impact``).

A regression discontinuity at the high and medium cuts of each batch: pupils just above and just
below a cut are alike except for the flag. :mod:`~impact.sample` builds the rows (fixed
definitions), :mod:`~impact.estimate` fits them (the rdrobust family), :mod:`~impact.evaluate`
assembles estimates, checks and verdict into :class:`models.impact_result.ImpactResult` (``impact.json``,
whose schema lives in models/ so that training can read it),
:mod:`~impact.report` writes the French report and logs the run to MLflow, :mod:`~impact.simulate`
makes worlds with a known effect. Imports features and models only.
"""

from impact.evaluate import Run, evaluate
from impact.sample import DEFAULT_PLAN_WINDOW_DAYS, Batch, horizon_closed, rd_sample
from models.impact_result import IMPACT_FILE, ImpactResult, read_impact

__all__ = [
    "DEFAULT_PLAN_WINDOW_DAYS",
    "IMPACT_FILE",
    "Batch",
    "ImpactResult",
    "Run",
    "evaluate",
    "horizon_closed",
    "rd_sample",
    "read_impact",
]
