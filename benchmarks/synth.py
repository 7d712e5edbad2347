"""Benchmark of the synthetic district: wall time, peak memory and rows per table.

Usage: python benchmarks/synth.py [--pupils 20000 1000000] [--years 2019-2024] [--format parquet]
Prints one JSON object per size. Each size runs in a fresh process so peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def run_one(pupils: int, years: str, fmt: str) -> dict[str, object]:
    from features.synthetic import SynthConfig, synthesise

    first, last = (int(y) for y in years.split("-"))
    with tempfile.TemporaryDirectory() as tmp:
        summary = synthesise(SynthConfig(pupils, seed=0, first_year=first, last_year=last, format=fmt), Path(tmp))  # type: ignore[arg-type]
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    return {
        "benchmark": "synth",
        "pupils": pupils,
        "years": years,
        "format": fmt,
        "seconds": round(summary.seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "bytes_on_disk": size,
        "rows": summary.rows,
        "positive_rate_12m_after_15_dec": {str(k): round(v, 4) for k, v in summary.positive_rate.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pupils", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--years", default="2019-2024")
    parser.add_argument("--format", default="parquet", choices=["csv", "parquet"])
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.pupils[0], args.years, args.format)))
        return
    for pupils in args.pupils:
        command = [sys.executable, __file__, "--one", "--pupils", str(pupils), "--years", args.years]
        subprocess.run([*command, "--format", args.format], check=True)


if __name__ == "__main__":
    main()
