"""Benchmark of the risk service: uvicorn on loopback with a national-size batch loaded, under a
bounded load (locust headless) at fixed request rates.

Setup: a 20,000-pupil synthetic district trains and registers a champion (as `make demo`); its
last as-of date's feature rows are resampled into a batch of --pupils pupils spread over
--schools schools, scored with reasons for the high and medium tiers, and kept in the score
history with its model inputs, exactly as `vigie score` keeps a batch. Then `vigie serve`
serves it and locust sends each scenario at each rate for --seconds seconds:

- pupil_batch: one high- or medium-tier pupil (reasons from the batch);
- pupil_on_demand: one low-tier pupil (exact TreeSHAP reasons computed per request);
- list_page: a school's list, page of 50; export: a school's CSV export of 1,000 rows.

Prints JSON lines: p50/p99 latency (ms), requests, failures, and the service's peak memory.
Only 127.0.0.1 is loaded; every run is bounded in time.
Usage: python benchmarks/serve.py [--pupils 1000000] [--schools 500] [--rates 100,200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]
SCENARIOS = ("pupil_batch", "pupil_on_demand", "list_page", "export")
SECRET = "benchmark-secret-0123456789abcdef0123456789"


def _uai(number: int) -> str:
    digits = f"{7_500_000 + number:07d}"
    return digits + "ABCDEFGHJKLMNPRSTUVWXYZ"[int(digits) % 23]


def build_served_district(root: Path, pupils: int, schools: int) -> dict[str, object]:
    """Champion in a local MLflow store, one batch of ``pupils`` in the score history."""
    import numpy as np
    import pandas as pd

    from benchmarks._prepare import train_champion
    from serving.batch import TierConfig, append_history, score_frame

    began = time.perf_counter()
    trained = train_champion(root)
    feature_set, result, tracked, data_dir, uri = (
        trained.feature_set,
        trained.result,
        trained.tracked,
        trained.data_dir,
        trained.uri,
    )
    frame = feature_set.frame
    last = frame[frame["as_of"] == frame["as_of"].max()].reset_index(drop=True)
    rng = np.random.default_rng(0)
    batch_rows = last.iloc[rng.integers(0, len(last), pupils)].reset_index(drop=True)
    batch_rows["pupil_id"] = [f"a{i:019x}" for i in rng.permutation(pupils)]
    batch_rows["school_id"] = [_uai(i) for i in rng.integers(0, schools, pupils)]
    trained_at = time.perf_counter()
    batch = score_frame(batch_rows, result.model, f"vigie-dropout/{tracked.version}", TierConfig())
    append_history(batch, data_dir / "score_history")
    scores = batch.scores.to_pandas()
    flagged, low = scores.loc[scores["tier"] != "low", "pupil_id"], scores.loc[scores["tier"] == "low", "pupil_id"]
    targets = {
        "flagged": flagged.sample(min(20_000, len(flagged)), random_state=0).tolist(),
        "low": low.sample(min(20_000, len(low)), random_state=0).tolist(),
        "schools": sorted(scores["school_id"].unique().tolist()),
    }
    (root / "targets.json").write_text(json.dumps(targets))
    return {
        "tracking_uri": uri,
        "data_dir": str(data_dir),
        "pupils": pupils,
        "schools": int(scores["school_id"].nunique()),
        "pupils_per_school_median": float(pd.Series(scores["school_id"]).value_counts().median()),
        "setup_seconds": round(trained_at - began, 1),
        "batch_seconds": round(time.perf_counter() - trained_at, 1),
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Watch:
    """The server's peak resident memory while a load runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def __enter__(self) -> Watch:
        def run() -> None:
            while not self._stop.is_set():
                self.peak = max(self.peak, _rss_mb(self.pid))
                time.sleep(0.2)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pupils", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--rates", default="100,200")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="a subset of " + ", ".join(SCENARIOS))
    args = parser.parse_args()
    import httpx

    from serving.api import Role, ServiceSettings, issue_token
    from tests.support.loopback import free_port, wait_until_ready

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        setup = build_served_district(root, args.pupils, args.schools)
        print(json.dumps({"setup": setup}), flush=True)
        targets = json.loads((root / "targets.json").read_text())
        env = {
            **os.environ,
            "VIGIE_DATA_DIR": str(setup["data_dir"]),
            "MLFLOW_TRACKING_URI": str(setup["tracking_uri"]),
            "VIGIE_SERVICE__SECRET": SECRET,
            "VIGIE_SERVICE__EXPORT_MAX_ROWS": "1000",
        }
        token = issue_token(
            ServiceSettings(secret=SECRET), subject="bench", role=Role.STAFF, schools=targets["schools"],
            ttl=timedelta(hours=4),
        )  # fmt: skip
        port = free_port()
        vigie = str(Path(sys.executable).parent / "vigie")
        started = time.perf_counter()
        server_log = (root / "service.log").open("w", encoding="utf-8")
        env["COLUMNS"] = "300"  # one log line per request, unwrapped
        server = subprocess.Popen([vigie, "serve", "--port", str(port)], env=env, stdout=server_log, stderr=server_log)
        base = f"http://127.0.0.1:{port}"
        try:
            if not wait_until_ready(f"{base}/readyz", seconds=600):
                raise SystemExit(f"the service did not become ready: {httpx.get(f'{base}/readyz').text}")
            print(json.dumps({"service_ready_seconds": round(time.perf_counter() - started, 1),
                              "service_rss_mb_loaded": round(_rss_mb(server.pid))}), flush=True)  # fmt: skip
            for rate in (float(r) for r in args.rates.split(",")):
                for scenario in args.scenarios.split(","):
                    print(
                        json.dumps(_load(base, scenario, rate, args, token=token, root=root, pid=server.pid)),
                        flush=True,
                    )
            server_log.flush()
        finally:
            server.terminate()
            server.wait(timeout=30)


def _load(
    base: str, scenario: str, rate: float, args: argparse.Namespace, *, token: str, root: Path, pid: int
) -> dict[str, object]:
    out = root / f"locust_{scenario}_{int(rate)}"
    env = {
        **os.environ,
        "VIGIE_BENCH_SCENARIO": scenario,
        "VIGIE_BENCH_USERS": str(args.users),
        "VIGIE_BENCH_RATE": str(rate),
        "VIGIE_BENCH_TOKEN": token,
        "VIGIE_BENCH_TARGETS": str(root / "targets.json"),
    }
    locust = str(Path(sys.executable).parent / "locust")
    command = [
        locust, "-f", str(HERE / "serve_locustfile.py"), "--headless", "-u", str(args.users), "-r", str(args.users),
        "-t", f"{args.seconds}s", "--host", base, "--only-summary", "--csv", str(out), "--stop-timeout", "5",
    ]  # fmt: skip
    log = root / "service.log"
    already = log.stat().st_size
    with Watch(pid) as watch:
        ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.seconds + 120, check=False)
    if not Path(f"{out}_stats.csv").exists():
        raise SystemExit(f"locust failed: {ran.stderr[-2000:]}")
    time.sleep(1)
    with log.open(encoding="utf-8") as handle:
        handle.seek(already)
        inside = _service_side_ms(handle.read())
    with Path(f"{out}_stats.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Name"] != "Aggregated"]
    row = rows[0]
    return {
        "scenario": scenario,
        "target_rate": rate,
        "achieved_rate": round(float(row["Requests/s"]), 1),
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
        "max_ms": float(row["Max Response Time"]),
        "service_side_p50_ms": inside[0],
        "service_side_p99_ms": inside[1],
        "service_peak_rss_mb": round(watch.peak),
        "pupils": args.pupils,
    }


def _service_side_ms(log: str) -> tuple[float | None, float | None]:
    """p50 and p99 of the durations the service itself logged (route template, status, ms): the
    time inside the service, without the load generator's own queueing on this 2-core machine."""
    import re

    import numpy as np

    found = [float(m) for m in re.findall(r"GET /api/v1/\S+ 200 ([0-9.]+) ms", log)]
    if not found:
        return None, None
    return round(float(np.percentile(found, 50)), 2), round(float(np.percentile(found, 99)), 2)


if __name__ == "__main__":
    main()
