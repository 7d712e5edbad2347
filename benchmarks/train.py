"""Benchmark of training: wall time and peak memory on about 1M snapshots.

Synthesises a district over five school years, builds its snapshots on the schedule of
configs/features.yaml (DuckDB), then times `training.train.train` (LightGBM with early
stopping and calibration, the logistic and ABC baselines, the test-fold evaluation and the
bootstrap comparison with the logistic baseline, also timed alone) in a fresh process.
Prints one JSON object.

Usage: python benchmarks/train.py [--pupils 110000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]


def run(folder: Path) -> dict[str, object]:
    from benchmarks._measure import PeakMemory
    from training.config import load_train_config
    from training.train import load_feature_set, train

    config = load_train_config(HERE.parent / "configs" / "train.yaml")
    features = load_feature_set(folder / "features", config, folder)
    with PeakMemory() as memory:
        began = time.perf_counter()
        result = train(features, config)
        seconds = time.perf_counter() - began
    model = result.evaluations["model"].metrics
    from models.metrics import compare_rankings

    began = time.perf_counter()  # the model-versus-logistic bootstrap inside train(), timed again alone
    compare_rankings(
        result.test["label"].to_numpy(dtype=int),
        result.evaluations["model"].probability,
        result.evaluations["logistic"].probability,
        pupils=result.test["pupil_id"].to_numpy(),
        capacity=config.gate.capacity,
        n_boot=config.comparison_draws,
        seed=config.seed,
    )
    comparison_seconds = time.perf_counter() - began
    return {
        "train_seconds": round(seconds, 1),
        "of_which_comparison_seconds": round(comparison_seconds, 1),
        "test_snapshots": len(result.test),
        "peak_memory_mb": round(memory.peak_mb),
        "snapshots": len(features.frame),
        "labelled_snapshots": int(features.frame["label"].notna().sum()),
        "trees": result.model.best_iteration_,
        "test_roc_auc": round(model["roc_auc"], 4),
        "test_precision_at_10pct": round(model["precision_at_10pct"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pupils", type=int, default=110_000)
    parser.add_argument("--in", dest="folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.folder:
        print(json.dumps(run(Path(args.folder))))
        return
    from benchmarks._prepare import prepare
    from features.signals import FeatureConfig, build_features

    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare(args.pupils, Path(tmp), first_year=2019, last_year=2023)
        began = time.perf_counter()
        config = FeatureConfig.model_validate({"schedule": {"from_year": 2019}})
        build_features(Path(tmp) / "validated", Path(tmp) / "features", config)
        features_seconds = round(time.perf_counter() - began, 1)
        done = subprocess.run([sys.executable, __file__, "--in", tmp], capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            json.dumps(
                {
                    "benchmark": "train",
                    "pupils": args.pupils,
                    **figures,
                    "features_seconds": features_seconds,
                    **prepared,
                }
            )
        )


if __name__ == "__main__":
    main()
