"""OULAD (Kuzilek et al. 2017, CC BY 4.0) put in the data contract's form, to train Vigie on it
through the CLI as a user would (issue 25). Prints JSON counts of what was kept and left out.

    python -m benchmarks.oulad_to_contract ../shared/datasets/oulad OUT_DIR
    vigie validate OUT_DIR --out OUT_DIR.validated
    vigie train --data OUT_DIR.validated --config configs/train.yaml

It is not school data; the mapping is dataset glue, stated here so its figures can be read:

- each module presentation is one school year, in order: 2013B -> 2013, 2013J -> 2014,
  2014B -> 2015, 2014J -> 2016, its day 0 on 15 September (the longest, 269 days, ends
  on 11 June); a module is a school (a UAI made up with its key letter), every student in 2NDE;
- a registration is an enrolment from ``max(1 Sept, day 0 + date_registration)``; a student
  taking two modules of one presentation keeps the first registered (the contract has one
  school at a time); a registration withdrawn on or before day 0 never started (left out);
- a withdrawal after day 0 is the exit date and the outcome (``event_date``);
- ``num_of_prev_attempts > 0`` is a repeat; the age band, in its order, a birth month of a
  pupil in 2NDE (15, 16 or 17 at day 0: the contract checks ages plausible at school); the
  deprivation band (IMD decile) a scholarship step (0-10 % -> 6 ... 50-60 % -> 1, else 0);
  a declared disability a PPS; sex as given (audit only, as in the contract);
- coursework and exam marks (not banked ones, dated by their submission, clipped to the
  school year) are grades out of 100; there is no attendance (header only) and no incident.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

PRESENTATION_YEAR = {"2013B": 2013, "2013J": 2014, "2014B": 2015, "2014J": 2016}
DAY_ZERO = (9, 15)
AGE = {"0-35": 15, "35-55": 16, "55<=": 17}
SCHOLARSHIP = {"0-10%": 6, "10-20": 5, "10-20%": 5, "20-30%": 4, "30-40%": 3, "40-50%": 2, "50-60%": 1}
UAI_KEYS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _uai(number: int) -> str:
    digits = f"{number:07d}"
    return digits + UAI_KEYS[int(digits) % 23]


def _pupil(student: int) -> str:
    return hashlib.sha256(f"oulad-{student}".encode()).hexdigest()[:20]


def convert(source: Path, out: Path) -> dict[str, int]:
    """Write the contract's tables for OULAD into ``out``; returns the counts kept and left out."""
    info = pd.read_csv(source / "studentInfo.csv")
    registrations = pd.read_csv(source / "studentRegistration.csv")
    key = ["code_module", "code_presentation", "id_student"]
    rows = info.merge(registrations, on=key)
    counts = {"registrations": len(rows)}
    rows["school_year"] = rows["code_presentation"].map(PRESENTATION_YEAR)
    day_zero = pd.to_datetime(rows["school_year"].astype(str) + f"-{DAY_ZERO[0]:02d}-{DAY_ZERO[1]:02d}")
    rows["day_zero"] = day_zero
    never_started = rows["date_unregistration"].notna() & (rows["date_unregistration"] <= 0)
    counts["withdrawn_before_day_zero"] = int(never_started.sum())
    rows = rows[~never_started]
    rows = rows.sort_values([*key[2:], "school_year", "date_registration", "code_module"])
    second = rows.duplicated(["id_student", "school_year"], keep="first")
    counts["second_module_same_year"] = int(second.sum())
    rows = rows[~second].copy()
    year_start = pd.to_datetime(rows["school_year"].astype(str) + "-09-01")
    entry = rows["day_zero"] + pd.to_timedelta(rows["date_registration"].fillna(0), unit="D")
    rows["entry_date"] = entry.where(entry > year_start, year_start)
    exit_date = rows["day_zero"] + pd.to_timedelta(rows["date_unregistration"], unit="D")
    rows["exit_date"] = exit_date.where(exit_date > rows["entry_date"], rows["entry_date"] + pd.Timedelta(days=1))
    rows.loc[exit_date.isna(), "exit_date"] = pd.NaT
    modules = sorted(rows["code_module"].unique())
    school = {m: _uai(750001 + 10 * i) for i, m in enumerate(modules)}
    rows["pupil_id"] = rows["id_student"].map(_pupil)
    out.mkdir(parents=True, exist_ok=True)

    pupils = rows.sort_values("school_year").drop_duplicates("pupil_id")
    birth = pupils["school_year"] - pupils["age_band"].map(AGE)
    pd.DataFrame(
        {"pupil_id": pupils["pupil_id"], "birth_month": birth.astype(str) + "-06", "sex": pupils["gender"]}
    ).to_csv(out / "pupils.csv", index=False)
    iso = "%Y-%m-%d"
    pd.DataFrame(
        {
            "pupil_id": rows["pupil_id"],
            "school_year": rows["school_year"],
            "school_id": rows["code_module"].map(school),
            "grade_level": "2NDE",
            "repeating": np.where(rows["num_of_prev_attempts"] > 0, "true", "false"),
            "entry_date": rows["entry_date"].dt.strftime(iso),
            "exit_date": rows["exit_date"].dt.strftime(iso).fillna(""),
            "scholarship": rows["imd_band"].map(SCHOLARSHIP).fillna(0).astype(int),
            "disability_plan": np.where(rows["disability"] == "Y", "PPS", "none"),
            "priority_education": "none",
        }
    ).to_csv(out / "enrolments.csv", index=False)
    withdrew = rows[rows["exit_date"].notna()]
    pd.DataFrame({"pupil_id": withdrew["pupil_id"], "event_date": withdrew["exit_date"].dt.strftime(iso)}).to_csv(
        out / "outcomes.csv", index=False
    )
    pd.DataFrame(columns=["pupil_id", "date", "half_day", "kind", "justified"]).to_csv(
        out / "attendance.csv", index=False
    )

    marks = pd.read_csv(source / "studentAssessment.csv").merge(pd.read_csv(source / "assessments.csv"))
    counts["marks"] = len(marks)
    banked = marks["is_banked"] == 1
    unmarked = marks["score"].isna()
    counts["marks_banked"], counts["marks_without_score"] = int(banked.sum()), int((unmarked & ~banked).sum())
    marks = marks[~banked & ~unmarked].merge(
        rows[["code_module", "code_presentation", "id_student", "pupil_id", "day_zero", "entry_date", "exit_date"]]
    )
    dated = marks["day_zero"] + pd.to_timedelta(marks["date_submitted"], unit="D")
    year_end = pd.to_datetime((marks["day_zero"].dt.year + 1).astype(str) + "-08-31")
    dated = dated.clip(lower=marks["entry_date"], upper=year_end)
    counts["marks_kept"] = len(marks)
    counts["marks_of_left_out_registrations"] = counts["marks"] - counts["marks_banked"]
    counts["marks_of_left_out_registrations"] -= counts["marks_without_score"] + counts["marks_kept"]
    pd.DataFrame(
        {
            "pupil_id": marks["pupil_id"],
            "date": dated.dt.strftime(iso),
            "subject": marks["assessment_type"],
            "score": marks["score"],
            "max_score": 100.0,
        }
    ).to_csv(out / "grades.csv", index=False)
    counts.update(pupils=len(pupils), enrolments=len(rows), outcomes=len(withdrew))
    return counts


def main() -> None:
    """``python -m benchmarks.oulad_to_contract SOURCE OUT``: prints the counts as JSON."""
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    print(json.dumps(convert(source, out), indent=2))


if __name__ == "__main__":
    main()
