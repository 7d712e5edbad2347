"""What honouring the objection register and the stop switch costs the service (issue 26).

Each request that reads the batch first reads the standing objections and suspensions
(``RightsStore.register``: two small SELECTs on one connection); a new objection is dropped
from the served batch in memory (``Objections.kept`` over the batch's pupils, then a take of
every column). This prints, as JSON, the register read's latency (median and p95, SQLite by
default or the database URL given) with N standing objections, and the time to find the kept
pupils in a batch of M.

Usage: ``.venv/bin/python -m benchmarks.rights_register [--objections 1000] [--pupils 1000000] [--url URL]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert

from models.objections import OBJECTIONS, Objections
from serving.api.access_log import migrated_engine
from serving.api.rights import RightsStore


def main() -> None:
    """Measure and print one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--objections", type=int, default=1000)
    parser.add_argument("--pupils", type=int, default=1_000_000)
    parser.add_argument("--url", default=None)
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'service.db'}"
        engine = migrated_engine(url)
        pupils = [f"{i:020x}" for i in range(args.pupils)]
        objected = pupils[:: max(1, args.pupils // max(1, args.objections))][: args.objections]
        now = datetime.now(UTC)
        with engine.begin() as connection:
            connection.execute(delete(OBJECTIONS))
            if objected:
                rows = [{"pupil_id": p, "recorded_at": now, "recorded_by": "bench"} for p in objected]
                connection.execute(insert(OBJECTIONS), rows)
        store = RightsStore(engine)
        store.register()  # warm the pool
        latencies = []
        for _ in range(args.reads):
            began = time.perf_counter()
            store.register()
            latencies.append(1000 * (time.perf_counter() - began))
        index = pd.Index(np.array(pupils, dtype=object))
        began = time.perf_counter()
        kept = Objections.of(objected).kept(index.to_numpy())
        mask_ms = 1000 * (time.perf_counter() - began)
        with engine.begin() as connection:
            connection.execute(delete(OBJECTIONS))
        engine.dispose()
    print(json.dumps({
        "benchmark": "rights_register",
        "database": url.split(":", 1)[0],
        "standing_objections": len(objected),
        "register_read_ms_p50": round(statistics.median(latencies), 3),
        "register_read_ms_p95": round(float(np.percentile(latencies, 95)), 3),
        "batch_pupils": args.pupils,
        "kept_mask_ms": round(mask_ms, 1),
        "left_out": int((~kept).sum()),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
