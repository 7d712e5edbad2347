"""The impact evaluation honours the objection register (GDPR art. 21): objected pupils are left
out of its sample, while everyone else keeps the running variable of the cut as it was applied."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from impact import rd_sample
from models.objections import Objections
from tests.impact.test_impact import _one_batch


def test_objected_pupils_are_left_out_of_the_sample_and_the_cut_stays() -> None:
    day = date(2024, 1, 10)
    risks = list(np.linspace(0.9, 0.0, 20))
    nothing = pd.DataFrame({"pupil_id": [], "start_date": []})
    no_outcome = pd.DataFrame({"pupil_id": [], "event_date": []})
    whole = rd_sample([_one_batch(day, risks)], nothing, no_outcome).set_index("pupil_id")
    honoured = rd_sample([_one_batch(day, risks)], nothing, no_outcome, objections=Objections.of(["p0", "p7"]))
    assert set(honoured["pupil_id"]) == set(whole.index) - {"p0", "p7"}
    kept = honoured.set_index("pupil_id")
    assert kept["x_high"].to_dict() == pytest.approx(whole.loc[kept.index, "x_high"].to_dict())
