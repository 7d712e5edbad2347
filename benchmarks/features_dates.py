"""Benchmark: the feature stage's cost against the number of as-of dates, at realistic volume.

One synthetic extract of --pupils pupils over seven school years (2017-2023) at the realistic
grade density (25 marks per subject and year: about 190 grades a pupil-year), in validated
form. For 1, 3, 9 and 18 as-of dates (the newest of the schedule 15 December, 31 March,
15 June), each in a fresh process:

- ``vigie``: ``build_features`` on DuckDB, every signal and the labels;
- ``plain_sql``: benchmarks/features_reference.sql, an independent plain-DuckDB query of 24
  comparable signals (counts, no calendar, no ranks): the yardstick;
- ``before`` (with --before-source DIR, a checkout of an older Vigie): its ``build_features``;
- ``command``: the whole ``vigie features`` command as a user runs it, in a fresh process timed
  from outside (Python start-up, imports, configuration, Ibis compilation, the engine, labels,
  the audit table, metadata and writing), and ``command_before`` the same with the older
  checkout.

Prints one JSON line per (dates, implementation): seconds, seconds per date, snapshots, peak
memory of the process; for ``vigie``, the seconds split into importing Vigie (counted, as every
command pays it), fixed Python work (tables opened, expressions built and compiled to SQL: the
same at any size) and the rest, the engine's work (``engine_seconds``), to set beside
``plain_sql``. ``command`` over ``plain_sql`` is the ratio a user sees. Every line also gives
``cpu_seconds`` (user + system, all threads; the command's from outside): on a shared machine
wall time swings with the neighbours' load, the CPU a run costs much less. Usage:
python benchmarks/features_dates.py [--pupils 20000] [--dates 1 3 9 18 21]
[--before-source /tmp/old-vigie] [--kinds vigie plain_sql command]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]


def schedule(first_year: int, last_year: int) -> list[date]:
    days = []
    for year in range(first_year, last_year + 1):
        days += [date(year, 12, 15), date(year + 1, 3, 31), date(year + 1, 6, 15)]
    return sorted(days)


def run_one(kind: str, folder: Path, dates: list[date]) -> dict[str, object]:
    """In this (fresh) process: one implementation on ``dates``."""
    from benchmarks._measure import PeakMemory

    with PeakMemory() as memory:
        began, cpu_began = time.perf_counter(), time.process_time()
        if kind == "plain_sql":
            import duckdb

            con = duckdb.connect()
            for table in ("enrolments", "attendance", "grades", "incidents"):
                con.execute(
                    f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / 'validated' / table}.parquet')"
                )
            con.execute("CREATE TABLE dates(as_of DATE)")
            con.executemany("INSERT INTO dates VALUES (?)", [[d] for d in dates])
            query = (HERE / "features_reference.sql").read_text(encoding="utf-8")
            rows = con.execute(f"COPY ({query}) TO '{folder / 'plain.parquet'}' (FORMAT parquet)").fetchone()[0]
        else:
            from features.signals import FeatureConfig, build_features

            imported = time.perf_counter()
            config = FeatureConfig(as_of=dates, engine="duckdb")
            rows = build_features(folder / "validated", folder / f"features-{kind}", config).rows
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
    result = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "snapshots": int(rows),
              "peak_memory_mb": round(memory.peak_mb)}  # fmt: skip
    if kind == "vigie":
        fixed = _fixed_python_seconds(folder / "validated", dates)
        result |= {"import_seconds": round(imported - began, 2), "fixed_python_seconds": round(fixed, 2),
                   "engine_seconds": round(seconds - (imported - began) - fixed, 2)}  # fmt: skip
    return result


def _fixed_python_seconds(validated: Path, dates: list[date]) -> float:
    """The part of a build that does not grow with the data: opening the tables, building the
    Ibis expressions and compiling them to SQL, timed again on their own after the build."""
    from features.signals.build import load_tables, snapshot_expressions
    from features.signals.engines import connect

    began = time.perf_counter()
    con = connect("duckdb")
    tables, (_first_year, known_until) = load_tables(con, validated, dates)
    for expression in snapshot_expressions(tables, dates, horizon_days=365, known_until=known_until):
        if expression is not None:
            con.compile(expression)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupils", type=int, default=20_000)
    parser.add_argument("--dates", type=int, nargs="+", default=[1, 3, 9, 18, 21])
    parser.add_argument("--kinds", nargs="+", default=["vigie", "plain_sql", "command"])
    parser.add_argument("--before-source", type=Path, help="A checkout of an older Vigie, measured the same way.")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        kind, folder, days = args.run.split("|")
        print(json.dumps(run_one(kind, Path(folder), [date.fromisoformat(d) for d in days.split(",")])))
        return

    from benchmarks._prepare import prepare

    with tempfile.TemporaryDirectory(prefix="vigie-bench-dates-") as tmp:
        folder = Path(tmp)
        prepared = prepare(args.pupils, folder, first_year=2017, last_year=2023)
        print(json.dumps({"benchmark": "features_dates", "pupils": args.pupils, "school_years": "2017-2023",
                          **prepared}), flush=True)  # fmt: skip
        every = schedule(2017, 2023)
        kinds = args.kinds + (["before", "command_before"] if args.before_source else [])
        for n in args.dates:
            dates = every[-n:]
            for kind in kinds:
                if kind.startswith("command"):
                    source = args.before_source if kind == "command_before" else HERE.parent
                    result = _run_command(source, folder, dates, kind)
                    print(json.dumps({"dates": n, "implementation": kind, **result,
                                      "seconds_per_date": round(result["seconds"] / n, 2)}), flush=True)  # fmt: skip
                    continue
                source = args.before_source if kind == "before" else HERE.parent
                env = {**os.environ, "PYTHONPATH": str(source)}
                # the benchmark harness (this file, _measure) always comes from this checkout
                command = [sys.executable, str(HERE / "features_dates.py"), "--run",
                           f"{'vigie' if kind == 'before' else kind}|{folder}|{','.join(map(str, dates))}"]  # fmt: skip
                if kind == "before":
                    command = [sys.executable, "-c", _BEFORE, str(source), str(HERE.parent), str(folder),
                               ",".join(map(str, dates))]  # fmt: skip
                out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                seconds = float(result["seconds"])
                print(json.dumps({"dates": n, "implementation": kind, **result,
                                  "seconds_per_date": round(seconds / n, 2)}), flush=True)  # fmt: skip


def _run_command(source: Path, folder: Path, dates: list[date], kind: str) -> dict[str, object]:
    """``vigie features`` from ``source`` in a fresh process: wall time, CPU time, peak memory."""
    from benchmarks._measure import _tree_rss_bytes

    out = folder / f"features-{kind}"
    command = [sys.executable, "-c", "import sys; from vigie.cli import app; sys.exit(app())", "features",
               "--data", str(folder / "validated"), "--out", str(out),
               "--as-of", ",".join(map(str, dates))]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(source), "MLFLOW_DISABLE_TELEMETRY": "true"}
    began, peak, cpu_began = time.perf_counter(), 0, resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=folder)
    while child.poll() is None:
        peak = max(peak, _tree_rss_bytes(child.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - began
    _, stderr = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{stderr.decode()[-3000:]}")
    cpu_ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu_ended.ru_utime + cpu_ended.ru_stime - cpu_began.ru_utime - cpu_began.ru_stime
    metadata = json.loads((out / "metadata.json").read_text())
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "snapshots": metadata["rows"],
            "peak_memory_mb": round(peak / 2**20), "seconds_in_metadata": metadata["seconds"]}  # fmt: skip


#: The older checkout's build_features, timed with this checkout's memory probe.
_BEFORE = """
import json, sys, time
from datetime import date
from pathlib import Path
source, harness, folder, days = sys.argv[1:5]
sys.path.insert(0, harness)
from benchmarks._measure import PeakMemory
sys.path.insert(0, source)
dates = [date.fromisoformat(d) for d in days.split(",")]
with PeakMemory() as memory:
    began = time.perf_counter()  # importing Vigie counts, as for the current checkout
    from features.signals import FeatureConfig, build_features
    imported = time.perf_counter()
    rows = build_features(Path(folder) / "validated", Path(folder) / "features-before",
                          FeatureConfig(as_of=dates, engine="duckdb")).rows
    seconds = time.perf_counter() - began
print(json.dumps({"seconds": round(seconds, 2), "snapshots": int(rows), "peak_memory_mb": round(memory.peak_mb),
                  "import_seconds": round(imported - began, 2)}))
"""


if __name__ == "__main__":
    main()
