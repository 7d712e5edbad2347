"""The floor under validation's time: a partitioned extract read and written again as Parquet by
plain DuckDB, with no rule checked at all.

Validation writes every kept row as typed Parquet, so it can never be faster than copying the
extract. This measures that copy, partition by partition in --jobs processes (as ``vigie validate
--jobs``), on the extract a national run kept (``national.py --keep DIR``): wall time, CPU seconds
(user + system of the worker processes) and rows. Prints one JSON line. Usage:
  python benchmarks/copy_floor.py DIR/national/extract [--jobs 2] [--memory-limit 1GB]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb


def _copy_partition(args: tuple[Path, Path, str]) -> int:
    """Every table of one partition read and written again; the rows copied."""
    part, out, memory_limit = args
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    rows = 0
    for table in sorted(part.glob("*.parquet")):
        source = str(table).replace("'", "''")
        target = str(out / table.name).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM read_parquet('{source}')) TO '{target}' (FORMAT 'parquet')")
        rows += con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0]  # type: ignore[index]
    con.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("extract", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB")
    args = parser.parse_args()
    partitions = sorted(p for p in args.extract.iterdir() if p.is_dir() and "=" in p.name)
    out = Path(tempfile.mkdtemp(prefix="vigie-copy-floor-"))
    began = time.perf_counter()
    try:
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = sum(pool.map(_copy_partition, [(p, out / p.name, args.memory_limit) for p in partitions]))
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = {
            "benchmark": "copy_floor",
            "partitions": len(partitions),
            "jobs": args.jobs,
            "rows": rows,
            "seconds": round(time.perf_counter() - began, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
