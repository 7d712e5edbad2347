"""Benchmark: what explaining a change of risk costs, stored or recomputed.

Why a pupil's risk changed is the difference of their TreeSHAP contributions at two batches of one
model. Two ways to have the previous batch's contributions: store every pupil's contributions with
every batch, or recompute one pupil's from the model inputs the score history keeps already
(:class:`serving.batch.KeptInputs`, one row group read). This measures both on ``--pupils`` rows
(the last two as-of dates of a trained district, resampled) written as ``vigie score`` writes the
history (row groups of 50,000), and extrapolates the sizes to the national batch (5.6 M pupils).

Usage: python benchmarks/change_storage.py [--pupils 500000] [--train-pupils 5000]
Prints one JSON line.
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
NATIONAL = 5_600_000
ROW_GROUP = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pupils", type=int, default=500_000)
    parser.add_argument("--train-pupils", type=int, default=5_000)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks._prepare import prepare
    from features.signals import FeatureConfig, build_features
    from models.explanation import score_change
    from models.matrix import encoded_matrix
    from serving.batch import KeptInputs, TierConfig, inputs_file, score_frame
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
        source = feature_set.frame
        days = sorted(source["as_of"].unique())[-2:]
        rng = np.random.default_rng(0)
        pupils = np.array([f"b{i:019x}" for i in range(args.pupils)], dtype=object)
        files, sizes = [], {}
        for n, day in enumerate(days):
            rows = source[source["as_of"] == day].reset_index(drop=True)
            frame = rows.iloc[rng.integers(0, len(rows), args.pupils)].reset_index(drop=True)
            frame["pupil_id"] = pupils
            batch = score_frame(frame, model, "benchmark/1", TierConfig())
            batch_file = root / f"as_of={n}" / "model_version=benchmark_1.parquet"
            inputs_file(batch_file).parent.mkdir(parents=True)
            pq.write_table(batch.scores, batch_file, row_group_size=ROW_GROUP)
            assert batch.inputs is not None
            pq.write_table(pa.Table.from_pandas(batch.inputs, preserve_index=False), inputs_file(batch_file),
                           row_group_size=ROW_GROUP)  # fmt: skip
            files.append(batch_file)
            sizes = {"scores": batch_file.stat().st_size, "inputs": inputs_file(batch_file).stat().st_size}
        # what storing every contribution with the batch would cost (pupil_id + features + bias)
        values = encoded_matrix(frame, features)
        began = time.perf_counter()
        contributions = model.contributions(values)
        contribution_seconds = time.perf_counter() - began
        stored = {}
        for kind in ("float64", "float32"):
            table = pa.table({"pupil_id": pupils, **{f"c{i}": contributions[:, i].astype(kind)
                                                     for i in range(contributions.shape[1])}})  # fmt: skip
            path = root / f"contributions_{kind}.parquet"
            pq.write_table(table, path, row_group_size=ROW_GROUP)
            stored[kind] = path.stat().st_size
        # recomputing instead: align the previous batch's inputs at load, read one row group per pupil
        index = pd.Index(pupils)
        began = time.perf_counter()
        kept = KeptInputs.of(files[0], days[0], "benchmark/1", index)
        align_seconds = time.perf_counter() - began
        assert kept is not None
        latencies = []
        for position in rng.integers(0, args.pupils, 200):
            began = time.perf_counter()
            before = kept.row(int(position), features)
            assert before is not None
            both = model.contributions(np.vstack([before, values[position : position + 1]]))
            score_change(both[0], both[1], before[0], values[position], features)
            latencies.append(time.perf_counter() - began)
        per_pupil = {
            k: v / args.pupils for k, v in (sizes | {f"contributions_{k}": v for k, v in stored.items()}).items()
        }
        print(
            json.dumps(
                {
                    "benchmark": "change_storage",
                    "pupils": args.pupils,
                    "features": len(features),
                    "history_batch_mb": {k: round(v / 1e6, 1) for k, v in sizes.items()},
                    "stored_contributions_mb": {k: round(v / 1e6, 1) for k, v in stored.items()},
                    "national_batch_mb_extrapolated": {k: round(v * NATIONAL / 1e6) for k, v in per_pupil.items()},
                    "growth_if_stored_pct_of_history": {
                        k: round(100 * v / (sizes["scores"] + sizes["inputs"]), 1) for k, v in stored.items()
                    },
                    "contributions_rows_per_s": round(args.pupils / contribution_seconds),
                    "recompute_align_at_load_s": round(align_seconds, 2),
                    "recompute_align_memory_mb_national": round(8 * NATIONAL / 1e6),
                    "recompute_change_ms_median": round(1000 * statistics.median(latencies), 2),
                    "recompute_change_ms_p95": round(1000 * sorted(latencies)[189], 2),
                    "chosen": "recompute from the kept inputs: no storage growth",
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
