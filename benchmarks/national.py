"""Benchmark of a national run: 5.6 million pupils at one as-of date, end to end, with the
commands a data scientist runs, on one machine.

Steps, each the real `vigie` command in its own process (wall time, CPU seconds and peak memory
of its process tree, workers included; CPU seconds are what a step costs whatever the load of a
shared machine):
  synth        a national raw extract in --partitions départements (realistic grade density),
               taken on the as-of date: the previous school year whole and the current one
               up to that day
  pseudonymise partition by partition, --jobs worker processes
  validate     the rules in the engine (DuckDB, --validate-memory-limit per worker, spilling past
               it), partition by partition, --jobs worker processes; read = kept + quarantined
  features     (with --features-as-of) a training set: `vigie features` at those dates,
               partition by partition, labels and audit table included
  score        features at the as-of date partition by partition (DuckDB), then risk, tiers
               and exact reasons for the high and medium tiers, streamed chunk by chunk into
               the score history and the contract's score file
The champion it scores with is trained beforehand on a 20,000-pupil district (not measured).

Prints one JSON line per step, then a summary line. Usage:
  python benchmarks/national.py [--pupils 5600000] [--partitions 101] [--jobs 2] [--as-of 2024-11-15] [--keep DIR]
Again from the pseudonymised extract a run kept (validate onwards, e.g. to compare code):
  python benchmarks/national.py --keep DIR --reuse-extract [--as-of ...]
The out-of-core training set of 1M pupils over six years at three dates a year:
  python benchmarks/national.py --pupils 1000000 --partitions 18 --years 2018-2024 --as-of 2024-11-15 \
      --features-as-of 2019-12-15,2020-03-31,...,2024-06-15 --features-as-of 2024-03-31,2024-06-15,2024-11-15 --no-score
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
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from benchmarks._measure import _tree_rss_bytes  # noqa: E402


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children, every thread and worker."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(step: str, command: list[str], env: dict[str, str], out: Path | None) -> dict[str, Any]:
    began, cpu_began, peak = time.perf_counter(), _children_cpu(), 0
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, text=True)
        while child.poll() is None:  # the step's own tree: not this process (it holds the champion)
            peak = max(peak, _tree_rss_bytes(child.pid))
            time.sleep(0.2)
        if child.returncode != 0:
            stdout.seek(0)
            stderr.seek(0)
            raise SystemExit(f"{step} failed ({child.returncode}):\n{stdout.read()[-3000:]}\n{stderr.read()[-3000:]}")
    figures: dict[str, Any] = {
        "benchmark": "national",
        "step": step,
        "seconds": round(time.perf_counter() - began, 1),
        "cpu_seconds": round(_children_cpu() - cpu_began, 1),
        "peak_rss_mb": round(peak / 2**20),
    }
    if out is not None:
        figures["bytes_written"] = _folder_bytes(out)
    print(json.dumps(figures), flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupils", type=int, default=5_600_000)
    parser.add_argument("--partitions", type=int, default=101)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2024, 11, 15))
    parser.add_argument("--grades-per-subject", type=float, default=25.0)
    parser.add_argument(
        "--years", help="School years of the extract FIRST-LAST (default: the as-of's and the one before)."
    )
    parser.add_argument(
        "--features-as-of",
        action="append",
        default=[],
        help="Also build a training set at these dates (comma-separated); repeat for several sets.",
    )
    parser.add_argument("--no-score", action="store_true", help="Stop before scoring.")
    parser.add_argument("--validate-memory-limit", default="1GB", help="DuckDB memory per validating worker.")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it (default: a temporary one).")
    parser.add_argument(
        "--reuse-extract",
        action="store_true",
        help="With --keep: start from the pseudonymised extract a former run kept there (no synth, no pseudonymise).",
    )
    args = parser.parse_args()

    from benchmarks._prepare import train_champion

    root = args.keep or Path(tempfile.mkdtemp(prefix="vigie-national-"))
    root.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    shutil.rmtree(root / "champion", ignore_errors=True)  # a kept folder's champion is trained again
    data_dir = root / "data" if args.no_score else train_champion(root / "champion").data_dir
    env = {
        **os.environ,
        "VIGIE_DATA_DIR": str(data_dir),
        "VIGIE_REFERENCE_DATE": (args.as_of + timedelta(days=1)).isoformat(),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    vigie = str(Path(sys.executable).with_name("vigie"))
    key = root / "secrets" / "national.key"
    if not key.exists():
        subprocess.run([vigie, "keygen", str(key)], check=True, capture_output=True)
    data = root / "national"
    reuse = args.reuse_extract and (data / "extract" / "pseudonymisation_report.json").exists()
    if args.reuse_extract and not reuse:
        raise SystemExit(f"--reuse-extract: no pseudonymised extract kept in {data / 'extract'}")
    made = ("validated", "features", "scores") if reuse else ("raw", "extract", "validated", "features", "scores")
    for folder in made:
        shutil.rmtree(data / folder, ignore_errors=True)
    feature_sets = {f"features_{len(d.split(','))}_dates": d for d in args.features_as_of}
    jobs, year = str(args.jobs), args.as_of.year if args.as_of.month >= 9 else args.as_of.year - 1
    years = args.years or f"{year - 1}-{year}"
    steps = [
        ("synth", [vigie, "synth", "--out", str(data / "raw"), "--pupils", str(args.pupils), "--seed", "0",
                   "--years", years, "--format", "parquet", "--partitions", str(args.partitions),
                   "--jobs", jobs, "--extract-date", args.as_of.isoformat(),
                   "--grades-per-subject", str(args.grades_per_subject)], data / "raw"),
        ("pseudonymise", [vigie, "pseudonymise", "--key-file", str(key), "--jobs", jobs, str(data / "raw"),
                          str(data / "extract")], data / "extract"),
        ("validate", [vigie, "validate", str(data / "extract"), "--out", str(data / "validated"), "--jobs", jobs,
                      "--no-require-outcomes", "--memory-limit", args.validate_memory_limit], data / "validated"),
    ]  # fmt: skip
    if reuse:
        steps = steps[2:]
    for name, dates in feature_sets.items():
        out = data / "features" / name
        steps.append(
            (name, [vigie, "features", "--data", str(data / "validated"), "--out", str(out), "--as-of", dates], out)
        )
    if not args.no_score:
        steps.append(("score", [vigie, "score", "--data", str(data / "validated"), "--as-of", args.as_of.isoformat(),
                                "--out", str(data / "scores")], data / "scores"))  # fmt: skip
    figures = [_run(step, command, env, out) for step, command, out in steps]

    report = json.loads((data / "validated" / "validation_report.json").read_text())
    summary: dict[str, Any] = {
        "benchmark": "national",
        "step": "summary",
        "pupils_requested": args.pupils,
        "partitions": args.partitions,
        "jobs": args.jobs,
        "years": years,
        "extract_date": args.as_of.isoformat(),
        "rows_read": {t: v["rows_read"] for t, v in report["tables"].items()},
        "rows_quarantined": report["rows_quarantined"],
        "reconciled": all(v["reconciled"] for v in report["tables"].values()),
        "extract_reused": reuse,
    }
    for name in feature_sets:
        built = json.loads((data / "features" / name / "metadata.json").read_text())
        summary[name] = {"snapshots": built["rows"], "as_of_dates": len(built["as_of_dates"])}
    if not args.no_score:
        batch = json.loads((data / "scores" / f"scores_{args.as_of.isoformat()}.json").read_text())
        scoring = data_dir / "scoring" / f"features-{args.as_of.isoformat()}" / "metadata.json"
        summary |= {"pupils_scored": batch["rows"], "tiers": batch["tiers"],
                    "features_seconds_within_score": json.loads(scoring.read_text())["seconds"]}  # fmt: skip
    summary |= {
        "total_seconds": round(sum(f["seconds"] for f in figures), 1),
        "total_cpu_seconds": round(sum(f["cpu_seconds"] for f in figures), 1),
        "peak_rss_mb_max": max(f["peak_rss_mb"] for f in figures),
        "wall_seconds_with_champion": round(time.perf_counter() - began, 1),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
    }
    print(json.dumps(summary), flush=True)
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
