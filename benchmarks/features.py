"""Benchmark of the feature stage: DuckDB, Spark local and plain pandas, on one synthetic year.

For each size: synthesise one school year (Parquet), pseudonymise and type it into the
validated form, then build three as-of dates with each engine in a fresh process, measuring
wall time and peak memory (the whole process tree, so Spark's JVM counts). pandas computes
seven representative signals only (features/pandas_reference.py), so its ratio to the engines
understates the gap. Prints one JSON object per (size, engine).

Spark's scaling with cores: name the master after the engine, e.g. ``--engines spark@local[1]
spark@local[2]`` (one and two cores of this machine; a cluster's ``spark://host:7077`` works too).

Usage: python benchmarks/features.py [--pupils 100000 1000000] [--engines duckdb spark pandas]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# This file is named like the 'features' package: keep its folder off the import path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]
AS_OF = [date(2023, 12, 15), date(2024, 3, 31), date(2024, 6, 15)]


def run_engine(engine: str, folder: Path) -> dict[str, object]:
    from benchmarks._measure import PeakMemory
    from features.signals import FeatureConfig, build_features
    from features.signals.pandas_reference import reference_signals

    with PeakMemory() as memory:
        began = time.perf_counter()
        if engine == "pandas":
            rows = len(reference_signals(folder / "validated", AS_OF))
        else:
            name, _, master = engine.partition("@")
            config = FeatureConfig(as_of=AS_OF, engine=name, memory_limit="8GB", spark_master=master or "local[*]")  # type: ignore[arg-type]
            rows = build_features(folder / "validated", folder / f"features-{name}", config).rows
        seconds = time.perf_counter() - began
    return {"seconds": round(seconds, 1), "peak_memory_mb": round(memory.peak_mb), "snapshots": rows}


def main() -> None:
    from benchmarks._prepare import prepare

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pupils", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark", "pandas"])
    parser.add_argument("--engine-in", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_in:
        engine, folder = args.engine_in.split(":", 1)
        print(json.dumps(run_engine(engine, Path(folder))))
        return
    for pupils in args.pupils:
        with tempfile.TemporaryDirectory() as tmp:
            prepared = prepare(pupils, Path(tmp), first_year=2023, last_year=2023)
            for engine in args.engines:
                done = subprocess.run(  # stderr passes through: a failure shows its cause
                    [sys.executable, __file__, "--engine-in", f"{engine}:{tmp}"],
                    stdout=subprocess.PIPE,
                    text=True,
                    check=True,
                )
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                print(
                    json.dumps(
                        {
                            "benchmark": "features",
                            "pupils": pupils,
                            "as_of_dates": 3,
                            "engine": engine,
                            **figures,
                            **prepared,
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
