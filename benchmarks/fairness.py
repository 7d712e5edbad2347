"""Benchmark of the fairness audit: wall time and peak memory as the number of pupils grows.

The audit's cost does not depend on what the model learnt, so pupils are simulated directly:
audit attributes in the contract's form at French proportions, calibrated risks, outcomes
drawn from them, one as-of date. Times ``fairness.audit.audit_predictions`` (Fairlearn
``MetricFrame`` figures and the pupil bootstrap) for each size, and the whole review
(mitigation comparison and HTML/JSON report included) at the first size. Prints one JSON object.

Usage: python benchmarks/fairness.py [--sizes 35000,200000,1000000] [--n-boot 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]


def simulate(n: int, seed: int = 0) -> tuple[object, object]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    track = rng.choice(["college", "lycee_gt", "lycee_pro"], n, p=[0.6, 0.26, 0.14])
    college = track == "college"
    audit = pd.DataFrame(
        {
            "pupil_id": [f"{i:020x}" for i in range(n)],
            "as_of": pd.Timestamp("2024-03-31").date(),
            "sex": rng.choice(["F", "M"], n),
            "scholarship": np.where(rng.random(n) < 0.27, rng.integers(1, 7, n), 0),
            "disability_plan": rng.choice(["none", "PAP", "PPS", "ULIS"], n, p=[0.949, 0.022, 0.02, 0.009]),
            "priority_education": np.where(
                college, rng.choice(["none", "REP", "REP+"], n, p=[0.78, 0.14, 0.08]), "none"
            ),
            "allophone": pd.array(np.where(rng.random(n) < 0.05, None, rng.random(n) < 0.015), dtype="boolean"),
        }
    )
    base = np.where(track == "lycee_pro", 0.12, np.where(track == "lycee_gt", 0.02, 0.007))
    risk = np.clip(base * rng.lognormal(0, 0.9, n), 0, 0.95)
    y = (rng.random(n) < risk).astype(int)
    frame = audit[["pupil_id", "as_of"]].assign(label=y, track=track, school_id="0000000A")
    return frame, (audit, risk)


def run(sizes: list[int], n_boot: int) -> dict[str, object]:
    from benchmarks._measure import PeakMemory
    from fairness.audit import audit_predictions
    from fairness.config import FairnessConfig
    from fairness.groups import audit_groups
    from fairness.review import ReviewContext, review_snapshots

    config = FairnessConfig(n_boot=n_boot)
    out: dict[str, object] = {"n_boot": n_boot, "cores": __import__("os").cpu_count(), "audit": []}
    for i, n in enumerate(sizes):
        frame, (audit, risk) = simulate(n)
        groups = audit_groups(audit, frame["track"])  # type: ignore[index]
        with PeakMemory() as memory:
            began = time.perf_counter()
            audit_predictions(
                frame["label"].to_numpy(),  # type: ignore[index]
                risk,
                frame["as_of"].to_numpy(),  # type: ignore[index]
                frame["pupil_id"].to_numpy(),  # type: ignore[index]
                groups,
                config,
            )
            seconds = time.perf_counter() - began
        figures = {"pupils": n, "audit_seconds": round(seconds, 1), "peak_memory_mb": round(memory.peak_mb)}
        if i == 0:
            began = time.perf_counter()
            review = review_snapshots(
                frame,
                risk,
                audit,
                config,
                ReviewContext("benchmark", ["2024-03-31"], "-", True),  # type: ignore[arg-type]
            )
            with tempfile.TemporaryDirectory() as tmp:
                review.write(Path(tmp))
            figures["review_with_mitigation_and_report_seconds"] = round(time.perf_counter() - began, 1)
        out["audit"].append(figures)  # type: ignore[attr-defined]
        print(json.dumps(figures), file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="35000,200000,1000000")
    parser.add_argument("--n-boot", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(run([int(s) for s in args.sizes.split(",")], args.n_boot), indent=2))


if __name__ == "__main__":
    main()
