"""Benchmark of ``vigie impact``'s stage on a national-size world: --pupil-batches rows over --years
first batches of distinct school years (two school years of the 1M-pupil synthetic country by default,
in --schools schools), plans simulated by tier with a known effect (``impact.simulate``).

Measured, wall time and peak memory of the process: the RD sample (``impact.rd_sample``: running
variables, plans within the window, dropout within the horizon), the evaluation (``impact.evaluate``:
three rdrobust estimates at two cuts, density tests, placebos, bandwidth checks, MDE, verdict) and the
report (``impact.report.write_report``: impact.json, the French HTML with the RD plots). Reading the
score history and the plans is not included (Parquet and one SQL query); simulating the world is timed
apart.

Prints JSON lines. Usage: python benchmarks/impact.py [--pupil-batches 1000000] [--years 2] [--schools 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupil-batches", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--schools", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    from benchmarks._measure import PeakMemory
    from impact import Run, evaluate, rd_sample
    from impact.report import write_report
    from impact.simulate import WorldSpec, simulate_world

    dates = tuple(date(2022 + year, 1, 15) for year in range(args.years))
    spec = WorldSpec(pupils_per_batch=args.pupil_batches // args.years, schools=args.schools, batch_dates=dates)
    began = time.perf_counter()
    world = simulate_world(spec)
    simulated = time.perf_counter() - began
    timings: dict[str, float] = {}
    with PeakMemory() as memory, tempfile.TemporaryDirectory(prefix="vigie-bench-impact-") as tmp:
        start = time.perf_counter()
        sample = rd_sample(world.batches, world.plans, world.outcomes)
        timings["sample_s"] = time.perf_counter() - start
        start = time.perf_counter()
        run = Run("vigie-dropout/1", spec.point, dates[0], dates[-1], list(dates), 60)
        result = evaluate(sample, run)
        timings["evaluate_s"] = time.perf_counter() - start
        start = time.perf_counter()
        write_report(result, sample, Path(tmp))
        timings["report_s"] = time.perf_counter() - start
    itt = result.get("flag_to_dropout", "high")
    print(json.dumps({
        "benchmark": "impact", "pupil_batches": len(sample), "schools": args.schools, "years": args.years,
        "simulate_s": round(simulated, 1), **{k: round(v, 1) for k, v in timings.items()},
        "total_s": round(sum(timings.values()), 1), "peak_mb": round(memory.peak_mb),
        "verdict": result.verdict.code, "itt_high": itt.estimate,
        "itt_high_truth": world.truth[("flag_to_dropout", "high")],
        "itt_high_ci": [itt.ci_low, itt.ci_high], "mde_high": itt.mde,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
