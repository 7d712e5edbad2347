"""Benchmark of scoring with reasons at national scale, and the tree-shape trade-off.

1. Trains models of several tree shapes on a synthetic district and reports, for each, the
   test ROC/PR AUC and the exact TreeSHAP (``pred_contrib``) speed: the curve from which the
   default shape is chosen.
2. On 1M pupils at one as-of date, with the default shape: scoring throughput (risk only),
   the whole batch (risk, tiers, reasons for high and medium tiers), peak memory, the latency
   of one pupil's reasons on demand, and shap.TreeExplainer on the same rows, in one run.
   The 1M rows are the district's last as-of date resampled over 500 schools: scoring reads
   feature rows, so its cost does not depend on how the rows were built (the feature stage at
   volume is measured by benchmarks/features.py and features_dates.py).

Usage: python benchmarks/score.py [--pupils 1000000] [--train-pupils 20000]
Prints JSON lines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

SHAPES = [(7, 3), (15, 5), (31, 7), (63, 8)]  # (num_leaves, max_depth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pupils", type=int, default=1_000_000)
    parser.add_argument("--train-pupils", type=int, default=20_000)
    args = parser.parse_args()

    import numpy as np
    import shap

    from benchmarks._measure import PeakMemory
    from benchmarks._prepare import prepare
    from features.signals import FeatureConfig, build_features
    from models.matrix import feature_matrix
    from serving.batch import TierConfig, explain_rows, references, score_frame
    from training.config import load_train_config
    from training.train import load_feature_set, train

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prepare(args.train_pupils, root / "train", first_year=2019, last_year=2023)
        config = FeatureConfig.model_validate({"schedule": {"from_year": 2019}})
        build_features(root / "train" / "validated", root / "train" / "features", config)
        base = load_train_config(HERE.parent / "configs" / "train.yaml")
        feature_set = load_feature_set(root / "train" / "features", base, root)
        models = {}
        for leaves, depth in SHAPES:
            cfg = load_train_config(
                HERE.parent / "configs" / "train.yaml", {"model.num_leaves": leaves, "model.max_depth": depth}
            )
            result = train(feature_set, cfg)
            X = feature_matrix(result.test.head(20_000), list(result.model.feature_names_in_))
            began = time.perf_counter()
            result.model.contributions(X)
            rate = len(X) / (time.perf_counter() - began)
            metrics = result.evaluations["model"].metrics
            models[(leaves, depth)] = result.model
            print(
                json.dumps(
                    {
                        "benchmark": "tree_shape",
                        "num_leaves": leaves,
                        "max_depth": depth,
                        "trees": result.model.best_iteration_,
                        "test_roc_auc": round(metrics["roc_auc"], 4),
                        "test_pr_auc": round(metrics["pr_auc"], 4),
                        "precision_at_10pct": round(metrics["precision_at_10pct"], 4),
                        "treeshap_rows_per_s": round(rate),
                    }
                ),
                flush=True,
            )

        model = models[(base.model.num_leaves, base.model.max_depth)]
        source = feature_set.frame
        last = source[source["as_of"] == source["as_of"].max()].reset_index(drop=True)
        rng = np.random.default_rng(0)
        frame = last.iloc[rng.integers(0, len(last), args.pupils)].reset_index(drop=True)
        frame["pupil_id"] = [f"b{i:019x}" for i in range(args.pupils)]
        uai = [f"{7_700_000 + i:07d}" + "ABCDEFGHJKLMNPRSTUVWXYZ"[(7_700_000 + i) % 23] for i in range(500)]
        frame["school_id"] = [uai[i] for i in rng.integers(0, 500, args.pupils)]
        features = list(model.feature_names_in_)
        with PeakMemory() as memory:
            began = time.perf_counter()
            X = feature_matrix(frame, features)
            model.predict_proba(X)
            risk_seconds = time.perf_counter() - began
            began = time.perf_counter()
            batch = score_frame(frame, model, "benchmark/1", TierConfig())
            batch_seconds = time.perf_counter() - began
        explained = batch.scores.num_rows - batch.scores.column("tier").to_pylist().count("low")
        refs = references(frame)
        latencies = []
        for i in range(200):
            began = time.perf_counter()
            explain_rows(frame.iloc[[i * 37]], model, refs)
            latencies.append(time.perf_counter() - began)
        sample = X.head(20_000)
        began = time.perf_counter()
        model.contributions(sample)
        native = len(sample) / (time.perf_counter() - began)
        began = time.perf_counter()
        shap.TreeExplainer(model.lgbm_).shap_values(sample)
        explainer = len(sample) / (time.perf_counter() - began)
        print(
            json.dumps(
                {
                    "benchmark": "score",
                    "pupils": len(frame),
                    "num_leaves": base.model.num_leaves,
                    "max_depth": base.model.max_depth,
                    "trees": model.best_iteration_,
                    "risk_pupils_per_s": round(len(frame) / risk_seconds),
                    "batch_seconds_with_reasons": round(batch_seconds, 1),
                    "pupils_explained_in_batch": explained,
                    "peak_memory_mb": round(memory.peak_mb),
                    "on_demand_reasons_ms_median": round(1000 * statistics.median(latencies), 2),
                    "on_demand_reasons_ms_p95": round(1000 * sorted(latencies)[189], 2),
                    "treeshap_native_rows_per_s": round(native),
                    "shap_treeexplainer_rows_per_s": round(explainer),
                    "approximation": "none: exact TreeSHAP for the high and medium tiers",
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
