"""Shared by the benchmarks: a synthetic extract in validated form, made fast."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def prepare(pupils: int, folder: Path, *, first_year: int, last_year: int) -> dict[str, object]:
    """A validated-form extract of the given school years, straight from the generator.

    Validation itself is measured elsewhere; here it is replaced by typing the generator's
    Parquet into the contract's schema, which the generator already follows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from features.ingest import pseudonym
    from features.synthetic import SynthConfig, synthesise

    began = time.perf_counter()
    raw = folder / "raw"
    summary = synthesise(SynthConfig(pupils, seed=0, first_year=first_year, last_year=last_year, format="parquet"), raw)
    key = b"benchmark-key-not-a-secret-0123456789"
    out = folder / "validated"
    out.mkdir()
    for path in raw.glob("*.parquet"):
        table = pq.read_table(path)
        if "ine" in table.column_names:
            encoded = pc.dictionary_encode(table["ine"]).combine_chunks()
            ids = pa.array([pseudonym(key, v) for v in encoded.dictionary.to_pylist()])
            table = table.set_column(table.column_names.index("ine"), "pupil_id", ids.take(encoded.indices))
        if path.stem == "pupils":
            month = pc.strftime(table["birth_date"], format="%Y-%m")
            table = table.drop_columns(["last_name", "first_name", "birth_date"]).append_column("birth_month", month)
        if path.stem == "grades":
            table = table.set_column(2 + 3, "coefficient", pc.fill_null(table["coefficient"], 1.0))
        pq.write_table(table, out / path.name)
    (out / "validation_report.json").write_text('{"note": "benchmark: typed from the generator, not validated"}')
    return {"rows": summary.rows, "prepare_seconds": round(time.perf_counter() - began, 1)}


@dataclass
class Champion:
    feature_set: Any  # training.train.FeatureSet
    result: Any  # training.train.TrainingResult
    tracked: Any  # training.tracking.TrackedRun
    data_dir: Path
    uri: str


def train_champion(root: Path, pupils: int = 20_000) -> Champion:
    """A district of ``pupils`` (2019-2023), its features at every scheduled date, and a champion
    trained and registered in a local MLflow store under ``root/data`` (as ``make demo`` does)."""
    import os

    from features.signals import FeatureConfig, build_features
    from models.registry import use_tracking_store
    from training.config import load_train_config
    from training.tracking import log_training
    from training.train import load_feature_set, train

    prepare(pupils, root / "train", first_year=2019, last_year=2023)
    build_features(
        root / "train" / "validated",
        root / "train" / "features",
        FeatureConfig.model_validate({"schedule": {"from_year": 2019}}),
    )
    # the fairness audit is measured by benchmarks/fairness.py: not required here
    config = load_train_config(Path(__file__).resolve().parents[1] / "configs" / "train.yaml",
                               {"gate.require_fairness": False})  # fmt: skip
    feature_set = load_feature_set(root / "train" / "features", config, root)
    data_dir = root / "data"
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    uri = use_tracking_store(data_dir)
    result = train(feature_set, config)
    tracked = log_training(result, feature_set, config, data_dir=data_dir)
    if not tracked.gate.promoted:
        raise SystemExit(f"the benchmark's model was not promoted: {tracked.gate.as_dict()}")
    return Champion(feature_set, result, tracked, data_dir, uri)
