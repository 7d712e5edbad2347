"""Reading pupils out of the served batch, for the API and the pages alike: one reach rule, one
trace through the :class:`AccessContext`, one ordering, one export format."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from features.ingest import GRADE_LEVELS
from models.reasons import ReasonItem
from models.reasons import reasons as explain
from serving.api.csv_cells import neutralise_table
from serving.api.schemas import Counts, HistoryPoint, PupilDetail, PupilRow, Reason, SchoolPupils, Tier
from serving.api.service.context import AccessContext
from serving.api.service.errors import PupilNotFoundError, SchoolNotFoundError, SuspendedError
from serving.api.service.stagger import check_started
from serving.api.state import ServedBatch, Serving

#: Reasons shown for a pupil (the batch keeps this many for high and medium tiers).
REASONS_SHOWN = 3
GradeLevel = Literal[GRADE_LEVELS]  # type: ignore[valid-type]
Track = Literal["college", "lycee_gt", "lycee_pro"]


@dataclass(frozen=True)
class ListFilters:
    """The filters of a school's list, shared by the API, the export and the page (query parameters)."""

    tier: Tier | None = None
    grade_level: GradeLevel | None = None
    track: Track | None = None


def as_reasons(items: Iterable[ReasonItem | Mapping[str, Any]] | None) -> list[Reason]:
    """The API's reasons from typed items (computed now) or the batch's Arrow structs."""
    return [Reason.model_validate(item.model_dump() if isinstance(item, ReasonItem) else item) for item in items or []]


def _previous(batch: ServedBatch, position: int) -> float | None:
    value = float(batch.previous_risk[position])
    return None if np.isnan(value) else value


def _row(batch: ServedBatch, position: int) -> PupilRow:
    return PupilRow(
        pupil_id=str(batch.index[position]),
        grade_level=str(batch.grade_level[position]),
        track=str(batch.track[position]),
        risk=float(batch.risk[position]),
        tier=batch.tier[position],
        reasons=as_reasons(batch.reasons[position].as_py()),
        change=batch.change[position],
        previous_risk=_previous(batch, position),
    )


def _matching(served: Serving, ctx: AccessContext, school_id: str, filters: ListFilters) -> np.ndarray:
    """The school's pupils matching the filters, by risk (ties by pupil_id); 404, traced, when the
    school is outside the caller's reach."""
    batch = served.batch
    positions = batch.by_school.get(school_id)
    if positions is None or not ctx.reaches(school_id):
        ctx.trace(404, school_id=school_id)
        raise SchoolNotFoundError
    check_running(served, ctx, school_id)
    check_started(served, ctx, school_id)  # the staggered start (issue 28), off by default
    keep = np.ones(len(positions), dtype=bool)
    for column, value in ((batch.tier, filters.tier), (batch.grade_level, filters.grade_level),
                          (batch.track, filters.track)):  # fmt: skip
        if value is not None:
            keep &= column[positions] == value
    return positions[keep]


def school_pupils(
    served: Serving,
    ctx: AccessContext,
    school_id: str,
    filters: ListFilters,
    *,
    page: int,
    page_size: int,
) -> SchoolPupils:
    """One page of a school's pupils by risk, with the school's counts; traced."""
    batch = served.batch
    matching = _matching(served, ctx, school_id, filters)
    shown = matching[(page - 1) * page_size : page * page_size]
    ctx.trace(200, school_id=school_id)
    return SchoolPupils(
        school_id=school_id,
        as_of=batch.as_of,
        model_version=served.model.label,
        counts=Counts(**batch.counts[school_id]),
        total=len(matching),
        page=page,
        page_size=page_size,
        pupils=[_row(batch, int(i)) for i in shown],
    )


@dataclass(frozen=True)
class Export:
    """A school's pupils ready to download, as CSV for programs or as a spreadsheet for staff."""

    rows: pa.Table  # pupil_id, grade_level, track, risk, tier, change, reasons (highest risk first)
    filename: str  # without its extension
    total: int  # pupils matching the filters (the export may hold fewer: the limit)

    def csv(self) -> bytes:
        """For programs: UTF-8, commas, the columns' own names and codes."""
        buffer = pa.BufferOutputStream()  # Arrow's CSV writer: a 1,000-row export in about a millisecond
        buffer.write((",".join(self.rows.column_names) + "\n").encode())
        rows = neutralise_table(self.rows)
        pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
        return bytes(buffer.getvalue().to_pybytes())


def export_rows(served: Serving, ctx: AccessContext, school_id: str, filters: ListFilters, max_rows: int) -> Export:
    """The filtered list (highest risk first), up to ``max_rows``; traced."""
    batch = served.batch
    matching = _matching(served, ctx, school_id, filters)
    shown = matching[:max_rows]
    table = pa.table(
        {
            "pupil_id": batch.index.take(shown).to_numpy(),
            "grade_level": batch.grade_level[shown],
            "track": batch.track[shown],
            "risk": pc.round(pa.array(batch.risk[shown]), 4),
            "tier": batch.tier[shown],
            "change": batch.change[shown],
            "reasons": batch.reason_texts[shown],
        }
    )
    ctx.trace(200, school_id=school_id)
    return Export(table, f"vigie_{school_id}_{batch.as_of.isoformat()}", len(matching))


def _detail(served: Serving, position: int) -> PupilDetail:
    batch = served.batch
    reasons = as_reasons(batch.reasons[position].as_py())
    source: Literal["batch", "on_demand"] = "batch"
    if not reasons:  # a low-tier pupil: exact TreeSHAP now, on the inputs the batch was scored on
        values = batch.inputs[position : position + 1]
        contributions = served.model.estimator.contributions(values)
        explained = explain(contributions, values, batch.grade_level[position : position + 1], batch.features,
                            batch.references, REASONS_SHOWN)  # fmt: skip
        reasons, source = as_reasons(explained[0]), "on_demand"
    history = [
        HistoryPoint(as_of=day, risk=float(risk[position]), tier=tier[position], model_version=version)
        for day, version, risk, tier in batch.history
        if not np.isnan(risk[position])
    ]
    return PupilDetail(
        pupil_id=str(batch.index[position]),
        school_id=str(batch.school[position]),
        grade_level=str(batch.grade_level[position]),
        track=str(batch.track[position]),
        risk=float(batch.risk[position]),
        tier=batch.tier[position],
        reasons=reasons,
        reasons_source=source,
        change=batch.change[position],
        previous_risk=_previous(batch, position),
        history=history,
        as_of=batch.as_of,
        model_version=served.model.label,
    )


def reach_pupil(served: Serving, ctx: AccessContext, pupil_id: str | None) -> int:
    """The pupil's position in the batch; 404, traced, when unknown or outside the caller's reach."""
    position = None if pupil_id is None else served.batch.position(pupil_id)
    if position is None or not ctx.reaches(str(served.batch.school[position])):
        ctx.trace(404, pupil_id=pupil_id)
        raise PupilNotFoundError
    check_running(served, ctx, str(served.batch.school[position]), pupil_id)
    check_started(served, ctx, str(served.batch.school[position]), pupil_id)  # the staggered start (issue 28)
    return position


def check_running(served: Serving, ctx: AccessContext, school_id: str, pupil_id: str | None = None) -> None:
    """:class:`SuspendedError` (traced as 503) when Vigie is suspended for the school or
    everywhere (AI Act art. 14(4)(e)): asked once the caller has reached the school."""
    stop = served.suspensions.of_school(school_id)
    if stop is not None:
        ctx.trace(503, school_id=school_id, pupil_id=pupil_id)
        raise SuspendedError(stop)


def pupil_detail(served: Serving, ctx: AccessContext, pupil_id: str | None) -> PupilDetail:
    """The pupil's detail, traced; 404 (traced too) when unknown or outside the caller's reach."""
    detail = _detail(served, reach_pupil(served, ctx, pupil_id))
    ctx.trace(200, school_id=detail.school_id, pupil_id=pupil_id)
    return detail


def high_tier_without_plan(served: Serving, school_id: str, has_open_plan: Callable[[str], bool]) -> list[PupilRow]:
    """The school's high-tier pupils with no open follow-up plan, highest risk first."""
    batch = served.batch
    positions = batch.by_school.get(school_id, np.array([], dtype=int))
    high = positions[batch.tier[positions] == "high"]
    return [_row(batch, int(i)) for i in high if not has_open_plan(str(batch.index[int(i)]))]
