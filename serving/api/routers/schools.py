"""A school's pupils (staff of the school): the list by risk, and its CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from serving.api.deps import Context, Served, settings
from serving.api.errors import ERRORS
from serving.api.routers.params import SchoolId
from serving.api.schemas import SchoolPupils
from serving.api.service import reads
from serving.api.service.reads import ListFilters

router = APIRouter(prefix="/api/v1", tags=["pupils"], responses=ERRORS)
Filters = Annotated[ListFilters, Depends()]


@router.get("/schools/{school_id}/pupils", response_model=SchoolPupils)
def school_pupils(
    school_id: SchoolId,
    ctx: Context,
    served: Served,
    request: Request,
    filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> SchoolPupils:
    """A school's pupils by risk, with counts by tier and grade level, filters and pages."""
    page_size = min(page_size, settings(request).max_page_size)
    return reads.school_pupils(served, ctx, school_id, filters, page=page, page_size=page_size)


@router.get(
    "/schools/{school_id}/pupils/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV for the staff meeting."}},
)
def export_school_pupils(
    school_id: SchoolId, ctx: Context, served: Served, request: Request, filters: Filters
) -> Response:
    """The filtered list as CSV (highest risk first), up to the export limit."""
    export = reads.export_rows(served, ctx, school_id, filters, settings(request).export_max_rows)
    return Response(
        export.csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}.csv"',
            "X-Total-Count": str(export.total),
        },
    )
