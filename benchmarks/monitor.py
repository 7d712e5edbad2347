"""Benchmark of monitoring: a national-size batch against its reference, overall and per school
and audit group, then the reports.

Setup: a 20,000-pupil synthetic district trains and registers a champion (as `make demo`).
The reference is its training snapshots on the batch's day of the year, resampled to
--reference rows; the batch is the last as-of date's snapshots resampled to --pupils rows; both
spread over --schools schools, scored by the champion, with their audit groups (as
`vigie monitor` builds them from an extract). Measured: `monitoring.compare` (Evidently's
report over every input and the risk, then each school and each audit group against itself)
and `write_monitoring` (Evidently's HTML and JSON, the verdict, the French summary), then the
delayed-label figures of a labelled batch as large (ROC AUC, precision and recall at capacity, ECE) with their
pupil-bootstrap intervals: wall time and peak memory of the process. Feature building is
measured by benchmarks/features.py.

Prints JSON lines. Usage: python benchmarks/monitor.py [--pupils 1000000] [--reference 1000000] [--schools 500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]


def _uai(number: int) -> str:
    digits = f"{7_600_000 + number:07d}"
    return digits + "ABCDEFGHJKLMNPRSTUVWXYZ"[int(digits) % 23]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupils", type=int, default=1_000_000)
    parser.add_argument("--reference", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")

    import numpy as np
    import pandas as pd

    from benchmarks._measure import PeakMemory
    from benchmarks._prepare import train_champion
    from fairness.groups import audit_groups
    from fairness.review import attach_audit
    from features.signals import AUDIT_TABLE
    from models.matrix import feature_matrix
    from models.registry import load_registered, training_record
    from monitoring import MonitoringConfig, Snapshots, compare, write_monitoring
    from monitoring.monitor import MonitoringResult, reference_dates
    from monitoring.outcomes import bootstrap

    with tempfile.TemporaryDirectory(prefix="vigie-bench-monitor-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        champion = train_champion(root)
        model = load_registered("vigie-dropout", "champion")
        record = training_record(model.run_id)
        frame = champion.feature_set.frame
        frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
        audit = pd.read_parquet(root / "train" / "features" / AUDIT_TABLE)
        seasons = {(d.month, d.day) for d in record.folds["train"]}  # a batch on a training day of the year
        current_day = max(d for d in frame["as_of"].unique() if (d.month, d.day) in seasons)
        dates = reference_dates(record.folds["train"], current_day, same_season=True)
        rng = np.random.default_rng(0)
        features = list(model.estimator.feature_names_in_)

        def resample(rows: pd.DataFrame, n: int, prefix: str) -> Snapshots:
            rows = rows.reset_index(drop=True)
            every = audit_groups(attach_audit(rows, audit), rows["track"].astype(str)).reset_index(drop=True)
            chosen = rng.integers(0, len(rows), n)
            sample, groups = rows.iloc[chosen].reset_index(drop=True), every.iloc[chosen].reset_index(drop=True)
            sample["pupil_id"] = [f"{prefix}{i:019x}" for i in range(n)]
            sample["school_id"] = [_uai(i) for i in rng.integers(0, args.schools, n)]
            sample["risk"] = model.estimator.predict_proba(feature_matrix(sample, features))[:, 1]
            return Snapshots(sample, groups)

        reference = resample(frame[frame["as_of"].isin(dates)], args.reference, "r")
        current = resample(frame[frame["as_of"] == current_day], args.pupils, "c")
        del frame
        setup = time.perf_counter() - began
        config = MonitoringConfig()
        with PeakMemory() as memory:
            started = time.perf_counter()
            drift, schools, groups, snapshot = compare(reference, current, features, config)
            compared = time.perf_counter() - started
            result = MonitoringResult(current_day, model.label, dates, drift, schools, groups, None, "—", [],
                                      snapshot, config, model.operating_point)  # fmt: skip
            started = time.perf_counter()
            write_monitoring(result, root / "report")
            written = time.perf_counter() - started
            # delayed labels: a batch's figures with their pupil-bootstrap intervals, as when outcomes arrive
            # (on the reference rows: resampled from training dates, their outcomes are known)
            labelled = reference.frame[reference.frame["label"].notna()]
            started = time.perf_counter()
            bootstrap(labelled["label"].to_numpy(dtype=int), labelled["risk"].to_numpy(),
                      labelled["pupil_id"].to_numpy(), config.outcomes, model.operating_point.high)  # fmt: skip
            outcomes_seconds = time.perf_counter() - started
        print(
            json.dumps(
                {
                    "benchmark": "monitor",
                    "pupils": args.pupils,
                    "reference_rows": args.reference,
                    "schools": args.schools,
                    "schools_tested": sum(s.status == "tested" for s in schools),
                    "groups_tested": sum(s.status == "tested" for s in groups),
                    "slice_tests": sum(len(s.columns) for s in schools + groups),
                    "drifted_features": len(drift.drifted),
                    "compare_seconds": round(compared, 1),
                    "reports_seconds": round(written, 1),
                    "outcomes_bootstrap_seconds": round(outcomes_seconds, 1),
                    "outcomes_bootstrap_draws": config.outcomes.n_boot,
                    "outcomes_labelled_rows": len(labelled),
                    "total_seconds": round(compared + written, 1),
                    "peak_memory_mb": round(memory.peak_mb),
                    "evidently_html_mb": round((root / "report" / "evidently_drift.html").stat().st_size / 2**20, 1),
                    "setup_seconds": round(setup, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
