"""The input data contract (``../shared/data-contract.md``, v1) as data.

Everything else reads column names, value sets and table roles from here, so the contract is
written down once. Types are the *logical* types of the contract; parsing and checking live in
:mod:`features.ingest.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CONTRACT_VERSION = "1"

LogicalType = Literal["str", "date", "month", "int", "float", "bool"]

GRADE_LEVELS: tuple[str, ...] = (
    "6E",
    "5E",
    "4E",
    "3E",
    "2NDE",
    "1ERE",
    "TLE",
    "CAP1",
    "CAP2",
    "2PRO",
    "1PRO",
    "TPRO",
)
COLLEGE_LEVELS = ("6E", "5E", "4E", "3E")
LYCEE_GT_LEVELS = ("2NDE", "1ERE", "TLE")
LYCEE_PRO_LEVELS = ("CAP1", "CAP2", "2PRO", "1PRO", "TPRO")
TRACK_OF_LEVEL: dict[str, str] = {
    **{level: "college" for level in COLLEGE_LEVELS},
    **{level: "lycee_gt" for level in LYCEE_GT_LEVELS},
    **{level: "lycee_pro" for level in LYCEE_PRO_LEVELS},
}
SEXES = ("F", "M")
DISABILITY_PLANS = ("none", "PAP", "PPS", "ULIS")
PRIORITY_EDUCATION = ("none", "REP", "REP+")
HALF_DAYS = ("AM", "PM")
ATTENDANCE_KINDS = ("absence", "late", "exclusion")
INCIDENT_KINDS = (
    "punition",
    "avertissement",
    "exclusion_cours",
    "exclusion_temporaire",
    "conseil_discipline",
)
UAI_KEY_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

PSEUDONYM_PATTERN = r"^[0-9a-f]{20}$"
INE_PATTERN = r"^[0-9A-Z]{11}$"
UAI_PATTERN = r"^[0-9]{7}[A-Z]$"

#: Columns of a raw extract that identify a person; never allowed past ``pseudonymise``.
IDENTIFYING_COLUMNS = ("ine", "last_name", "first_name", "birth_date")
#: Attributes kept for fairness audits only; never model inputs.
SENSITIVE_ATTRIBUTES = ("sex", "scholarship", "disability_plan", "priority_education", "allophone")


def uai_key_letter(digits: str) -> str:
    """Key letter of a UAI code from its 7 digits, as the contract defines it."""
    return UAI_KEY_LETTERS[int(digits) % 23]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the data contract: its logical type, whether the extract must carry it, whether it may be empty,
    and the values it may take."""

    name: str
    type: LogicalType
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    #: The value an optional column takes when the extract leaves it out (or a cell empty).
    default: float | bool | str | None = None


@dataclass(frozen=True)
class TableSpec:
    """One table of the data contract as validation reads it: its columns, whether the extract must hold it, and the key
    that makes a repeated row a duplicate."""

    name: str
    columns: tuple[ColumnSpec, ...]
    required: bool = True
    #: Columns that identify a row; a repeat of them is a duplicate.
    key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every column of the table, in contract order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The columns a file of this table must have; the others may be absent."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        """The spec of column ``name`` (the caller names a contract column; an unknown one is a bug)."""
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: LogicalType, **kwargs: object) -> ColumnSpec:
    return ColumnSpec(name, type_, **kwargs)  # type: ignore[arg-type]


PUPILS = TableSpec(
    "pupils",
    (_c("pupil_id", "str"), _c("birth_month", "month"), _c("sex", "str", allowed=SEXES)),
    key=("pupil_id",),
)
ENROLMENTS = TableSpec(
    "enrolments",
    (
        _c("pupil_id", "str"),
        _c("school_year", "int"),
        _c("school_id", "str"),
        _c("grade_level", "str", allowed=GRADE_LEVELS),
        _c("repeating", "bool"),
        _c("entry_date", "date"),
        _c("exit_date", "date", nullable=True),
        _c("scholarship", "int"),
        _c("disability_plan", "str", allowed=DISABILITY_PLANS),
        _c("priority_education", "str", allowed=PRIORITY_EDUCATION),
        _c("allophone", "bool", required=False, nullable=True),
    ),
    key=("pupil_id", "school_year", "school_id", "entry_date"),
)
ATTENDANCE = TableSpec(
    "attendance",
    (
        _c("pupil_id", "str"),
        _c("date", "date"),
        _c("half_day", "str", allowed=HALF_DAYS),
        _c("kind", "str", allowed=ATTENDANCE_KINDS),
        _c("justified", "bool"),
    ),
    key=("pupil_id", "date", "half_day", "kind"),
)
GRADES = TableSpec(
    "grades",
    (
        _c("pupil_id", "str"),
        _c("date", "date"),
        _c("subject", "str"),
        _c("score", "float"),
        _c("max_score", "float"),
        _c("coefficient", "float", required=False, nullable=True, default=1.0),
    ),
)
INCIDENTS = TableSpec(
    "incidents",
    (_c("pupil_id", "str"), _c("date", "date"), _c("kind", "str", allowed=INCIDENT_KINDS)),
    required=False,
)
OUTCOMES = TableSpec("outcomes", (_c("pupil_id", "str"), _c("event_date", "date")), key=("pupil_id", "event_date"))
CALENDAR = TableSpec(
    "calendar",
    (_c("start_date", "date"), _c("end_date", "date"), _c("label", "str")),
    required=False,
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (PUPILS, ENROLMENTS, ATTENDANCE, GRADES, INCIDENTS, OUTCOMES, CALENDAR)
}
#: Tables keyed by pupil: their ``pupil_id`` must be known in ``pupils``.
PUPIL_TABLES = ("enrolments", "attendance", "grades", "incidents", "outcomes")
