"""Run the synthetic district year by year and stream the raw extract to disk."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from faker import Faker

from features.ingest import contract as c
from features.ingest import french_holidays, school_days
from features.school import DEFAULT_HORIZON_DAYS, school_year_start
from features.synthetic.events import Timeline, YearEvents, draw_year
from features.synthetic.population import (
    KIND_COLLEGE,
    PAST_COHORTS,
    Pupils,
    Schools,
    Simulation,
    YearState,
    _kind_of_level,
    _month_starts,
    disengagement,
    make_pupils,
    make_schools,
)
from features.synthetic.writer import ExtractWriter, Format


@dataclass(frozen=True)
class SynthConfig:
    """What to simulate: the district's size and years, the file format, and the knobs for sensitivity studies (injected
    errors, dropout shift, recording bias, grade density, extract date)."""

    pupils: int
    seed: int = 0
    first_year: int = 2019
    last_year: int = 2024
    format: Format = "csv"
    inject_errors: int = 0
    #: Shifts every pupil's dropout log-odds (for sensitivity studies).
    dropout_shift: float = 0.0
    #: Multiplies how strictly unjustified absences are recorded for one group (1: no bias),
    #: from the school year ``recording_bias_from`` on (default: every year): ``rep_plus``, the
    #: pupils of REP+ collèges, or ``scholarship``, pupils holding a bourse (whose absences can
    #: cost them part of it). A bias in the records with no effect on who drops out.
    recording_bias: float = 1.0
    recording_bias_group: Literal["rep_plus", "scholarship"] = "rep_plus"
    recording_bias_from: int | None = None
    #: Marked assessments per subject and school year. 25 (about three a month over nine months)
    #: gives 175 to 200 grades per pupil and year in the seven or eight subjects simulated: the
    #: 150-250 a collège or lycée pupil collects with several assessments per subject and month in
    #: 8-12 subjects (the order of magnitude of issue 14; no public statistic counts marks).
    #: At national scale that is about a billion grade rows a year. Lower it for quick tests.
    grades_per_subject: float = 25.0
    #: The day the extract was taken (default: none, every simulated row is written). Rows
    #: dated after it are left out, as are enrolments starting after it; exits and dropouts
    #: after it are not known yet (empty ``exit_date``, no outcome).
    extract_date: date | None = None
    #: Three digits that start every school's UAI: the département code, as in real UAIs.
    uai_prefix: str | None = None
    #: Position of this extract's pupils in an INE sequence shared by the partitions of one
    #: national extract (see :mod:`features.synthetic.partitioned`), with its ``ine_offset``:
    #: partitions that take disjoint ranges never share an INE. None: drawn from the seed.
    first_pupil: int = 0
    ine_offset: int | None = None

    def __post_init__(self) -> None:
        if self.pupils < 50:
            raise ValueError(f"The 'pupils' parameter of SynthConfig must be at least 50. Got {self.pupils} instead.")
        if self.last_year < self.first_year:
            raise ValueError(f"The 'years' parameter must run forward. Got {self.first_year}-{self.last_year} instead.")
        if self.grades_per_subject <= 0:
            raise ValueError(
                f"The 'grades_per_subject' parameter must be positive. Got {self.grades_per_subject} instead."
            )
        if self.uai_prefix is not None and not (len(self.uai_prefix) == 3 and self.uai_prefix.isdigit()):
            raise ValueError(f"The 'uai_prefix' parameter must be three digits. Got {self.uai_prefix!r} instead.")
        if self.recording_bias <= 0:
            raise ValueError(f"The 'recording_bias' parameter must be positive. Got {self.recording_bias} instead.")


@dataclass
class SynthSummary:
    """What a synthesis wrote, and how long it took: the benchmarks and the CLI print it."""

    out_dir: str
    pupils: int
    schools: int
    rows: dict[str, int]
    seconds: float
    #: Share of pupils enrolled on 15 December who drop out within the default horizon, by school year.
    positive_rate: dict[int, float] = field(default_factory=dict)
    errors_injected: int = 0


#: Multiplier of the INE sequence: odd and not a multiple of 5, so ``i -> i * M mod 10**10`` is
#: a bijection and distinct positions give distinct INEs.
_INE_STEP = 7_654_321_177


def _identifiers(rng: np.random.Generator, n: int, config: SynthConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    offset = int(rng.integers(0, 10**9)) if config.ine_offset is None else config.ine_offset
    positions = np.arange(config.first_pupil, config.first_pupil + n, dtype=np.int64) % 10**10
    # positions * _INE_STEP mod 10**10 in two halves: the whole product overflows 64 bits
    high, low = divmod(_INE_STEP, 10**5)
    numbers = ((positions * high % 10**5) * 10**5 + positions * low + offset) % 10**10
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))[rng.integers(0, 23, n)]
    ines = np.char.add(np.char.zfill(numbers.astype(str), 10), letters)
    fake = Faker("fr_FR")
    fake.seed_instance(config.seed)
    last = np.array(sorted({fake.last_name() for _ in range(1500)}))
    first_f = np.array(sorted({fake.first_name_female() for _ in range(600)}))
    first_m = np.array(sorted({fake.first_name_male() for _ in range(600)}))
    return ines, last, np.stack([first_f[rng.integers(0, first_f.size, n)], first_m[rng.integers(0, first_m.size, n)]])


def _recording_bias(config: SynthConfig, year: int, state: YearState, pupils: Pupils, schools: Schools) -> np.ndarray:
    """Per enrolled pupil, how much more strictly unjustified absences are recorded this year."""
    if config.recording_bias == 1 or year < (config.recording_bias_from or config.first_year):
        return np.ones(state.pupil.size)
    if config.recording_bias_group == "rep_plus":
        group = schools.priority[state.school] == 2
    else:
        group = _scholarship(pupils.social[state.pupil], state.level) > 0
    return np.where(group, config.recording_bias, 1.0)


def _scholarship(social: np.ndarray, level: np.ndarray) -> np.ndarray:
    echelon = np.where(social < -0.6, 1 + np.floor((-0.6 - social) / 0.35), 0)
    return np.minimum(echelon, np.where(_kind_of_level(level) == KIND_COLLEGE, 3, 6)).astype(np.int32)


def synthesise(config: SynthConfig, out_dir: Path, *, on_year: Callable[[int], None] | None = None) -> SynthSummary:
    """Write a raw extract (with ``ine``, names, ``birth_date``) of about ``config.pupils`` pupils."""
    began = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    years = range(config.first_year, config.last_year + 1)
    cohorts = PAST_COHORTS + len(years)
    per_cohort = math.ceil(config.pupils * 1.08 / cohorts)
    start_years = np.repeat(np.arange(config.first_year - PAST_COHORTS, config.last_year + 1), per_cohort)
    pupils = make_pupils(rng, start_years.size, start_years)
    schools = make_schools(rng, per_cohort, config.uai_prefix)
    sim = Simulation(rng, schools, pupils, config.dropout_shift)
    for year in range(config.first_year - PAST_COHORTS, config.first_year):
        sim.step(year)
    # Keep exactly the requested number of pupils among those the window will see.
    candidates = np.flatnonzero(~sim.done)
    chosen = np.sort(rng.choice(candidates, size=min(config.pupils, candidates.size), replace=False))
    sim.done[np.setdiff1d(np.arange(start_years.size), chosen)] = True

    ines, last_names, first_names = _identifiers(rng, start_years.size, config)
    writer = ExtractWriter(out_dir, config.format, config.extract_date)
    extract_end = np.datetime64(date(config.last_year + 1, 10, 31), "D")
    if config.extract_date is not None:
        extract_end = min(extract_end, np.datetime64(config.extract_date, "D"))
    enrolled = np.zeros(start_years.size, dtype=bool)
    event_of = np.full(start_years.size, np.datetime64("NaT"), dtype="datetime64[D]")
    positive_rate: dict[int, float] = {}
    for year in years:
        state = sim.step(year)
        holidays = french_holidays(year)
        days = school_days(school_year_start(year), school_year_start(year + 1), holidays)
        timeline = Timeline.build(days, _month_starts(year))
        bias = _recording_bias(config, year, state, pupils, schools)
        events = draw_year(rng, state, pupils, schools, disengagement(state, pupils, rng), timeline,
                           recording_bias=bias, grades_per_subject=config.grades_per_subject)  # fmt: skip
        _write_year(writer, rng, state, pupils, schools, events, ines=ines, holidays=holidays)
        enrolled[state.pupil[state.entry <= extract_end]] = True
        if year == config.first_year:
            sample = {key: events.grades[key][:1000] for key in ("pupil", "day")}
        event_of[state.pupil] = np.where(np.isnat(state.dropout_date), event_of[state.pupil], state.dropout_date)
        positive_rate[year] = _positive_rate(state, year)
        if on_year is not None:
            on_year(year)

    seen = chosen[enrolled[chosen]]
    writer.write(
        "pupils",
        {
            "ine": ines[seen],
            "last_name": last_names[rng.integers(0, last_names.size, seen.size)],
            "first_name": first_names[pupils.sex[seen], seen],
            "birth_date": pupils.birth_date[seen],
            "sex": np.array(c.SEXES)[pupils.sex[seen]],
        },
    )
    dropped = np.flatnonzero(~np.isnat(event_of) & (event_of <= extract_end))
    writer.write("outcomes", {"ine": ines[dropped], "event_date": event_of[dropped]})
    injected = _inject_errors(writer, rng, config.inject_errors, sample, ines) if config.inject_errors else 0
    writer.close()
    last_closed = {y: r for y, r in positive_rate.items() if date(y + 1, 12, 15) <= date(config.last_year + 1, 10, 31)}
    return SynthSummary(
        str(out_dir),
        int(seen.size),
        int(schools.kind.size),
        dict(writer.rows),
        time.perf_counter() - began,
        last_closed,
        injected,
    )


def _positive_rate(state: YearState, year: int) -> float:
    as_of = np.datetime64(date(year, 12, 15), "D")
    enrolled = (state.entry <= as_of) & (np.isnat(state.exit) | (state.exit > as_of))
    positive = (state.dropout_date > as_of) & (state.dropout_date <= as_of + DEFAULT_HORIZON_DAYS)
    return float(positive[enrolled].mean()) if enrolled.any() else float("nan")


def _write_year(
    writer: ExtractWriter,
    rng: np.random.Generator,
    state: YearState,
    pupils: Pupils,
    schools: Schools,
    events: YearEvents,
    *,
    ines: np.ndarray,
    holidays: pd.DataFrame,
) -> None:
    moved = ~np.isnat(state.move_date)
    first_exit = np.where(moved, state.move_date, state.exit)
    rows = np.concatenate([np.arange(state.pupil.size), np.flatnonzero(moved)])
    entry = np.concatenate([state.entry, state.move_date[moved]])
    exit_ = np.concatenate([first_exit, state.exit[moved]])
    school = np.concatenate([state.school, state.move_school[moved]])
    pupil = state.pupil[rows]
    allophone = pupils.allophone[pupil].astype(object)
    allophone[rng.random(rows.size) < 0.05] = None
    writer.write(
        "enrolments",
        {
            "ine": ines[pupil],
            "school_year": np.full(rows.size, state.school_year, dtype=np.int32),
            "school_id": schools.uai[school],
            "grade_level": np.array(c.GRADE_LEVELS)[state.level[rows]],
            "repeating": state.repeating[rows],
            "entry_date": entry,
            "exit_date": exit_,
            "scholarship": _scholarship(pupils.social[pupil], state.level[rows]),
            "disability_plan": np.array(c.DISABILITY_PLANS)[pupils.disability[pupil]],
            "priority_education": np.array(c.PRIORITY_EDUCATION)[schools.priority[school]],
            "allophone": list(allophone),
        },
    )
    a = events.attendance
    writer.write(
        "attendance",
        {
            "ine": ines[a["pupil"]],
            "date": a["day"],
            "half_day": np.array(c.HALF_DAYS)[a["half_day"]],
            "kind": np.array(c.ATTENDANCE_KINDS)[a["kind"]],
            "justified": a["justified"],
        },
    )
    g = events.grades
    writer.write(
        "grades",
        {"ine": ines[g["pupil"]], **{k: v for k, v in g.items() if k not in ("pupil", "day")}, "date": g["day"]},
    )
    i = events.incidents
    writer.write(
        "incidents", {"ine": ines[i["pupil"]], "date": i["day"], "kind": np.array(c.INCIDENT_KINDS)[i["kind"]]}
    )
    writer.write("calendar", {col: holidays[col].to_numpy() for col in ("start_date", "end_date", "label")})


def _inject_errors(
    writer: ExtractWriter, rng: np.random.Generator, count: int, sample: dict[str, np.ndarray], ines: np.ndarray
) -> int:
    """Append ``count`` rule-breaking rows built from real ones, cycling through the kinds of error."""
    future = np.datetime64(date.today() + timedelta(days=400), "D")
    kinds = np.arange(count) % 6
    for k, n in zip(*np.unique(kinds, return_counts=True), strict=True):
        pick = rng.integers(0, sample["pupil"].size, n)
        who, day = ines[sample["pupil"][pick]], sample["day"][pick]
        absence = {"half_day": ["AM"] * n, "kind": ["absence"] * n, "justified": [False] * n}
        if k == 0:  # a score above the maximum
            grade = {"subject": ["MATHS"] * n, "score": [25.0] * n, "max_score": [20.0] * n, "coefficient": [1.0] * n}
            writer.write("grades", {"ine": who, "date": day, **grade})
        elif k == 1:  # a date in the future
            writer.write("attendance", {"ine": who, "date": np.full(n, future), **absence})
        elif k == 2:  # a pupil nobody knows
            unknown = np.char.add(np.char.zfill(rng.integers(0, 10**9, n).astype(str), 10), "Z")
            writer.write("attendance", {"ine": unknown, "date": day, **absence})
        elif k == 3:  # the same half-day recorded twice
            for _ in range(2):
                writer.write("attendance", {"ine": who, "date": day, **absence})
        elif k == 4:  # a day outside any enrolment of the pupil
            writer.write("attendance", {"ine": who, "date": np.full(n, np.datetime64("1999-08-02")), **absence})
        else:  # an incident kind the contract does not know
            writer.write("incidents", {"ine": who, "date": day, "kind": ["bagarre"] * n})
    return count
