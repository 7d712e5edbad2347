"""Benchmark of ``vigie impact --design stagger``'s stage on a national-size world: --pupil-batches rows
over --years first batches of distinct school years, in --schools schools drawn to as many waves as years
(``impact.simulate.simulate_stagger_world``, opening Vigie preventing a known share of dropouts).

Measured, wall time and peak memory of the process: the sample (``impact.rd_sample``), the evaluation
(``impact.stagger.evaluate_stagger``: cluster-robust OLS, 999 re-draws for randomisation inference,
balance checks, verdict) and the report (impact.json and the French HTML). Simulating the world is timed
apart.

Prints JSON lines. Usage: python benchmarks/impact_stagger.py [--pupil-batches 1000000] [--years 3] [--schools 2000]
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
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--schools", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    import pandas as pd

    from benchmarks._measure import PeakMemory
    from impact import Run, rd_sample
    from impact.report import write_report
    from impact.simulate import WorldSpec, simulate_stagger_world
    from impact.stagger import evaluate_stagger

    dates = tuple(date(2022 + year, 1, 15) for year in range(args.years))
    spec = WorldSpec(pupils_per_batch=args.pupil_batches // args.years, schools=args.schools, batch_dates=dates)
    began = time.perf_counter()
    world = simulate_stagger_world(spec, prevented_share=0.2)
    simulated = time.perf_counter() - began
    timings: dict[str, float] = {}
    with PeakMemory() as memory, tempfile.TemporaryDirectory(prefix="vigie-bench-stagger-") as tmp:
        start = time.perf_counter()
        sample = rd_sample(world.batches, pd.DataFrame(columns=["pupil_id", "start_date"]), world.outcomes)
        timings["sample_s"] = time.perf_counter() - start
        start = time.perf_counter()
        run = Run("vigie-dropout/1", spec.point, dates[0], dates[-1], list(dates), 60)
        result = evaluate_stagger(sample, world.draw, run)
        timings["evaluate_s"] = time.perf_counter() - start
        start = time.perf_counter()
        write_report(result, sample, Path(tmp))
        timings["report_s"] = time.perf_counter() - start
    found = result.get("stagger_dropout", None)
    print(json.dumps({
        "benchmark": "impact_stagger", "pupil_batches": len(sample), "compared_rows": result.rows,
        "schools": args.schools, "years": args.years, "simulate_s": round(simulated, 1),
        **{k: round(v, 1) for k, v in timings.items()}, "total_s": round(sum(timings.values()), 1),
        "peak_mb": round(memory.peak_mb), "verdict": result.verdict.code, "estimate": found.estimate,
        "truth": world.truth, "ci": [found.ci_low, found.ci_high], "mde": found.mde,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
