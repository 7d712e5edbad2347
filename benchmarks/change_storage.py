"""Benchmark: what explaining a change of risk costs, stored or recomputed.

Why a pupil's risk changed is the difference of their TreeSHAP contributions at two batches of one
model. Two ways to have the previous batch's contributions: store every pupil's contributions with
every batch, or recompute one pupil's from the model inputs the score history keeps already
(:class:`serving.batch.KeptInputs`, one row group read). This measures both on every snapshot
of a trained district (distinct rows: rows resampled from one date would repeat, and Parquet's
dictionaries would compress them away), written as ``vigie score`` writes the history (row groups
of 50,000; and of 5,000, for the read of one pupil), per pupil, extrapolated to the national
batch (5.6 M pupils).

Usage: python benchmarks/change_storage.py [--train-pupils 10000]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]
NATIONAL = 5_600_000
#: Row groups of the inputs file: vigie score's chunk (50,000), and smaller ones.
ROW_GROUPS = (50_000, 5_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-pupils", type=int, default=10_000)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks._prepare import prepare
    from features.signals import FeatureConfig, build_features
    from models.explanation import score_change
    from models.matrix import encoded_matrix
    from serving.batch import KeptBatch, KeptInputs, TierConfig, inputs_file, score_frame
    from training.config import load_train_config
    from training.train import load_feature_set, train

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prepare(args.train_pupils, root / "train", first_year=2019, last_year=2023)
        config = FeatureConfig.model_validate({"schedule": {"from_year": 2019}})
        build_features(root / "train" / "validated", root / "train" / "features", config)
        train_config = load_train_config(HERE.parent / "configs" / "train.yaml", {"gate.require_fairness": False})
        feature_set = load_feature_set(root / "train" / "features", train_config, root)
        model = train(feature_set, train_config).model
        features = list(model.feature_names_in_)
        rng = np.random.default_rng(0)
        # every snapshot of the district is a distinct row (resampling one date would repeat rows,
        # which Parquet's dictionaries compress away): sizes are per row, extrapolated
        frame = feature_set.frame.reset_index(drop=True)
        frame["as_of"] = frame["as_of"].max()  # one batch of distinct rows, as scoring takes it
        frame["pupil_id"] = [f"b{i:019x}" for i in range(len(frame))]
        rows = len(frame)
        batch = score_frame(frame, model, "benchmark/1", TierConfig())
        assert batch.inputs is not None
        sizes, kept = {}, {}
        index = pd.Index(frame["pupil_id"])
        for group in ROW_GROUPS:
            batch_file = root / f"groups={group}" / "model_version=benchmark_1.parquet"
            inputs_file(batch_file).parent.mkdir(parents=True)
            pq.write_table(batch.scores, batch_file, row_group_size=group)
            table = pa.Table.from_pandas(batch.inputs, preserve_index=False)
            pq.write_table(table, inputs_file(batch_file), row_group_size=group)
            sizes[group] = {"scores": batch_file.stat().st_size, "inputs": inputs_file(batch_file).stat().st_size}
            began = time.perf_counter()
            found = KeptInputs.of(KeptBatch(date(2024, 1, 1), "benchmark/1", batch_file), index)
            assert found is not None
            kept[group] = (found, time.perf_counter() - began)
        # what storing every contribution with the batch would cost (pupil_id + features + bias)
        values = encoded_matrix(frame, features)
        began = time.perf_counter()
        contributions = model.contributions(values)
        contribution_seconds = time.perf_counter() - began
        stored = {}
        for kind in ("float64", "float32"):
            columns = {f"c{i}": contributions[:, i].astype(kind) for i in range(contributions.shape[1])}
            path = root / f"contributions_{kind}.parquet"
            pq.write_table(pa.table({"pupil_id": frame["pupil_id"], **columns}), path, row_group_size=ROW_GROUPS[0])
            stored[kind] = path.stat().st_size
        latency = {}
        for group, (found, _) in kept.items():
            latencies = []
            for position in rng.integers(0, rows, 200):
                began = time.perf_counter()
                before = found.row(int(position), features)
                assert before is not None
                both = model.contributions(np.vstack([before, values[position : position + 1]]))
                score_change(both[0], both[1], before[0], values[position], features)
                latencies.append(time.perf_counter() - began)
            latency[group] = (statistics.median(latencies), sorted(latencies)[189])
        history = sizes[ROW_GROUPS[0]]["scores"] + sizes[ROW_GROUPS[0]]["inputs"]
        print(
            json.dumps(
                {
                    "benchmark": "change_storage",
                    "rows": rows,
                    "features": len(features),
                    "bytes_per_pupil": {
                        "scores": round(sizes[ROW_GROUPS[0]]["scores"] / rows, 1),
                        **{f"inputs_rowgroup_{g}": round(v["inputs"] / rows, 1) for g, v in sizes.items()},
                        **{f"contributions_{k}": round(v / rows, 1) for k, v in stored.items()},
                    },
                    "national_batch_mb": {
                        "history_today": round(history / rows * NATIONAL / 1e6),
                        **{f"contributions_{k}_added": round(v / rows * NATIONAL / 1e6) for k, v in stored.items()},
                    },
                    "growth_if_stored_pct": {k: round(100 * v / history, 1) for k, v in stored.items()},
                    "contributions_rows_per_s": round(rows / contribution_seconds),
                    "national_contributions_minutes_per_batch": round(NATIONAL / (rows / contribution_seconds) / 60, 1),
                    "recompute_align_at_load_s": {g: round(t, 3) for g, (_, t) in kept.items()},
                    "recompute_align_memory_mb_national": round(4 * NATIONAL / 1e6),
                    "recompute_change_ms_median": {g: round(1000 * m, 1) for g, (m, _) in latency.items()},
                    "recompute_change_ms_p95": {g: round(1000 * p, 1) for g, (_, p) in latency.items()},
                    "chosen": "recompute from the kept inputs: no storage growth",
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
