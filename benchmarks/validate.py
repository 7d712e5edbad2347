"""Benchmark of validation: the engine's path (Ibis on DuckDB) beside the former pandas path and a
plain DuckDB script of comparable checks, on the same extract in the same run.

The extract: a district of --pupils (20,000) over --years (2018-2024, seven school years) at
realistic grade density (25 marks a subject and year), synthesised as Parquet and pseudonymised
(not measured). Each path runs in its own process (wall time and peak memory of its process tree,
imports included, and its CPU seconds: user + system of every thread, what a run costs whatever
the neighbours' load on a shared machine) and writes what ``vigie validate`` writes: kept tables
as typed Parquet, the quarantine and the report.

  new    features.ingest.validate_to_folder (what ``vigie validate`` runs), DuckDB memory limit
         --memory-limit
  old    the former path (features.ingest.pandas_reference), whole tables in pandas
  plain  one DuckDB script written here: types, value sets, ranges, duplicate keys, UAI key
         letters, unknown pupils, attendance outside every enrolment, grades outside the pupil's
         years, quarantine with reasons, typed Parquet out

Prints one JSON line per path, then a summary with the ratios. Usage:
  python benchmarks/validate.py [--pupils 20000] [--years 2018-2024] [--memory-limit 1GB] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from benchmarks._measure import _tree_rss_bytes  # noqa: E402

REFERENCE = date(2025, 9, 1)

_PLAIN = """
SET memory_limit = '{memory_limit}'; SET temp_directory = '{spill}'; SET preserve_insertion_order = false;
CREATE TEMP TABLE p AS
  SELECT file_row_number AS r, pupil_id, birth_month, sex,
    concat_ws('; ',
      CASE WHEN NOT regexp_full_match(pupil_id, '[0-9a-f]{{20}}') THEN 'pupil_id: not a pseudonym' END,
      CASE WHEN NOT regexp_full_match(birth_month, '\\d{{4}}-(0[1-9]|1[0-2])') THEN 'birth_month: not a month' END,
      CASE WHEN sex NOT IN ('F', 'M') THEN 'sex: not one of F, M' END,
      CASE WHEN row_number() OVER (PARTITION BY pupil_id ORDER BY file_row_number) > 1 THEN 'duplicate' END) AS why
  FROM read_parquet('{x}/pupils.parquet', file_row_number = true);
CREATE TEMP TABLE e AS
  SELECT file_row_number AS r, pupil_id, TRY_CAST(school_year AS INTEGER) AS school_year, school_id, grade_level,
    TRY_CAST(repeating AS BOOLEAN) AS repeating, TRY_CAST(entry_date AS DATE) AS entry_date,
    TRY_CAST(exit_date AS DATE) AS exit_date, TRY_CAST(scholarship AS INTEGER) AS scholarship, disability_plan,
    priority_education, TRY_CAST(allophone AS BOOLEAN) AS allophone,
    concat_ws('; ',
      CASE WHEN pupil_id NOT IN (SELECT pupil_id FROM p WHERE why = '') THEN 'pupil_id: unknown pupil' END,
      CASE WHEN TRY_CAST(school_year AS INTEGER) NOT BETWEEN 1990 AND 2025 THEN 'school_year: range' END,
      CASE WHEN grade_level NOT IN ('6E','5E','4E','3E','2NDE','1ERE','TLE','CAP1','CAP2','2PRO','1PRO','TPRO')
           THEN 'grade_level: not one of' END,
      CASE WHEN TRY_CAST(scholarship AS INTEGER) NOT BETWEEN 0 AND 6 THEN 'scholarship: range' END,
      CASE WHEN disability_plan NOT IN ('none','PAP','PPS','ULIS') THEN 'disability_plan: not one of' END,
      CASE WHEN priority_education NOT IN ('none','REP','REP+') THEN 'priority_education: not one of' END,
      CASE WHEN NOT regexp_full_match(school_id, '[0-9]{{7}}[A-Z]') OR substr(school_id, 8, 1)
           <> substr('ABCDEFGHJKLMNPRSTUVWXYZ', (TRY_CAST(substr(school_id, 1, 7) AS BIGINT) % 23)::INTEGER + 1, 1)
           THEN 'school_id: not a UAI' END,
      CASE WHEN TRY_CAST(entry_date AS DATE) IS NULL OR TRY_CAST(entry_date AS DATE) > DATE '{ref}'
           THEN 'entry_date: not a date or future' END,
      CASE WHEN row_number() OVER (PARTITION BY pupil_id, school_year, school_id, entry_date
                                   ORDER BY file_row_number) > 1 THEN 'duplicate' END) AS why
  FROM read_parquet('{x}/enrolments.parquet', file_row_number = true);
CREATE TEMP TABLE ek AS SELECT * EXCLUDE (r, why) FROM e WHERE why = '';
CREATE TEMP TABLE a AS
  SELECT file_row_number AS r, pupil_id, TRY_CAST(date AS DATE) AS date, half_day, kind,
    TRY_CAST(justified AS BOOLEAN) AS justified,
    concat_ws('; ',
      CASE WHEN TRY_CAST(date AS DATE) IS NULL OR TRY_CAST(date AS DATE) > DATE '{ref}' THEN 'date: bad' END,
      CASE WHEN half_day NOT IN ('AM', 'PM') THEN 'half_day: not one of' END,
      CASE WHEN kind NOT IN ('absence', 'late', 'exclusion') THEN 'kind: not one of' END,
      CASE WHEN pupil_id NOT IN (SELECT pupil_id FROM ek) THEN 'pupil_id: unknown pupil' END,
      CASE WHEN NOT EXISTS (SELECT 1 FROM ek WHERE ek.pupil_id = x.pupil_id AND x.date >= ek.entry_date
           AND x.date < coalesce(ek.exit_date, make_date(ek.school_year + 1, 9, 1)))
           THEN 'date: outside every enrolment' END,
      CASE WHEN row_number() OVER (PARTITION BY pupil_id, date, half_day, kind ORDER BY file_row_number) > 1
           THEN 'duplicate' END) AS why
  FROM read_parquet('{x}/attendance.parquet', file_row_number = true) x;
CREATE TEMP TABLE g AS
  SELECT file_row_number AS r, pupil_id, TRY_CAST(date AS DATE) AS date, subject,
    TRY_CAST(score AS DOUBLE) AS score, TRY_CAST(max_score AS DOUBLE) AS max_score,
    coalesce(TRY_CAST(coefficient AS DOUBLE), 1.0) AS coefficient,
    concat_ws('; ',
      CASE WHEN TRY_CAST(date AS DATE) IS NULL OR TRY_CAST(date AS DATE) > DATE '{ref}' THEN 'date: bad' END,
      CASE WHEN TRY_CAST(score AS DOUBLE) IS NULL OR score < 0 OR score > max_score THEN 'score: bad' END,
      CASE WHEN TRY_CAST(max_score AS DOUBLE) IS NULL OR max_score <= 0 THEN 'max_score: bad' END,
      CASE WHEN coefficient <= 0 THEN 'coefficient: bad' END,
      CASE WHEN pupil_id NOT IN (SELECT pupil_id FROM ek) THEN 'pupil_id: unknown pupil' END,
      CASE WHEN (pupil_id, year(date) - CASE WHEN month(date) < 9 THEN 1 ELSE 0 END)
           NOT IN (SELECT (pupil_id, school_year) FROM ek) THEN 'date: outside the pupil''s years' END) AS why
  FROM read_parquet('{x}/grades.parquet', file_row_number = true);
"""


def _plain(extract: Path, out: Path, memory_limit: str) -> None:
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    (out / "quarantine").mkdir(exist_ok=True)
    spill = out / ".spill"
    con = duckdb.connect()
    con.execute(_PLAIN.format(x=extract, ref=REFERENCE.isoformat(), memory_limit=memory_limit, spill=spill))
    counts = {}
    for short, name in (("p", "pupils"), ("e", "enrolments"), ("a", "attendance"), ("g", "grades")):
        con.execute(f"COPY (SELECT * EXCLUDE (r, why) FROM {short} WHERE why = '') TO '{out}/{name}.parquet'")
        con.execute(f"COPY (SELECT * FROM {short} WHERE why <> '') TO '{out}/quarantine/{name}.csv'")
        counts[name] = con.execute(f"SELECT count(*), count(*) FILTER (why <> '') FROM {short}").fetchone()
    (out / "plain_report.json").write_text(json.dumps(counts))
    shutil.rmtree(spill, ignore_errors=True)


def _run_path(path: str, extract: Path, out: Path, memory_limit: str) -> None:
    """One path, in this process (the parent measures it)."""
    if path == "plain":
        _plain(extract, out, memory_limit)
    elif path == "new":
        from features.ingest.validation import EngineLimits, validate_to_folder

        validate_to_folder(extract, out, reference_date=REFERENCE, require_outcomes=False,
                           limits=EngineLimits(memory_limit=memory_limit))  # fmt: skip
    else:
        from features.ingest import write_validated
        from features.ingest.pandas_reference import validate_extract_pandas

        write_validated(validate_extract_pandas(extract, reference_date=REFERENCE, require_outcomes=False), out)


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (all their threads)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(path: str, extract: Path, out: Path, memory_limit: str) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, __file__, "--run", path, "--extract", str(extract), "--out", str(out),
               "--memory-limit", memory_limit]  # fmt: skip
    began, cpu_began = time.perf_counter(), _children_cpu()
    peak = 0
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        while child.poll() is None:  # the child's tree only: this process holds the synthesis
            peak = max(peak, _tree_rss_bytes(child.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        child.wait()
        cpu = _children_cpu() - cpu_began  # the child is reaped: its CPU (every thread) is counted
        stderr = child.stderr.read() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{path} failed ({child.returncode}):\n{stderr[-3000:]}")
    figures: dict[str, Any] = {
        "benchmark": "validate",
        "path": path,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(peak / 2**20),
    }
    report = out / ("plain_report.json" if path == "plain" else "validation_report.json")
    payload = json.loads(report.read_text())
    if path == "plain":
        figures["rows_read"] = sum(v[0] for v in payload.values())
        figures["rows_quarantined"] = sum(v[1] for v in payload.values())
    else:
        figures["rows_read"] = sum(t["rows_read"] for t in payload["tables"].values())
        figures["rows_quarantined"] = payload["rows_quarantined"]
    print(json.dumps(figures), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupils", type=int, default=20_000)
    parser.add_argument("--years", default="2018-2024")
    parser.add_argument("--grades-per-subject", type=float, default=25.0)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--paths", default="new,old,plain", help="Which paths to run, in this order.")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it (the extract is reused).")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--extract", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _run_path(args.run, args.extract, args.out, args.memory_limit)
        return

    root = args.keep or Path(tempfile.mkdtemp(prefix="vigie-validate-"))
    root.mkdir(parents=True, exist_ok=True)
    extract = root / "extract"
    if not (extract / "pupils.parquet").exists():
        from features.ingest import pseudonymise_extract
        from features.synthetic import SynthConfig, synthesise

        first, last = (int(y) for y in args.years.split("-"))
        synthesise(SynthConfig(args.pupils, seed=0, first_year=first, last_year=last, format="parquet",
                               grades_per_subject=args.grades_per_subject), root / "raw")  # fmt: skip
        key = root / "bench.key"
        key.write_text("benchmark-key-not-a-secret-0123456789\n")
        key.chmod(0o600)
        pseudonymise_extract(root / "raw", extract, key_file=key)
        shutil.rmtree(root / "raw")
    figures = {p: _measure(p, extract, root / f"out-{p}", args.memory_limit) for p in args.paths.split(",")}
    summary: dict[str, Any] = {
        "benchmark": "validate",
        "step": "summary",
        "pupils": args.pupils,
        "years": args.years,
        "grades_per_subject": args.grades_per_subject,
        "memory_limit": args.memory_limit,
        "rows": figures[next(iter(figures))]["rows_read"],
    }
    if "plain" in figures:
        for path in figures.keys() - {"plain"}:
            summary[f"{path}_over_plain_seconds"] = round(figures[path]["seconds"] / figures["plain"]["seconds"], 2)
            summary[f"{path}_over_plain_cpu_seconds"] = round(
                figures[path]["cpu_seconds"] / figures["plain"]["cpu_seconds"], 2
            )
            summary[f"{path}_over_plain_memory"] = round(
                figures[path]["peak_rss_mb"] / figures["plain"]["peak_rss_mb"], 2
            )
    summary["machine"] = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    print(json.dumps(summary), flush=True)
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
