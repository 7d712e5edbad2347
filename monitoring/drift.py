"""Drift of the model's inputs and of its risk: overall with an Evidently report, and slice by
slice (each school, each audit group) with Evidently's own statistical tests.

A school whose absence recording changed barely moves the district; compared with its own
training snapshots it stands out. So does a group of pupils (scholarship holders, say) whose
absences start being recorded more strictly. Audit attributes only slice the comparison here;
they are never model inputs.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.catalog import FEATURES
from monitoring.config import DriftSettings, SliceSettings

if TYPE_CHECKING:  # Evidently takes about three seconds to import: only when a report is made
    from evidently.core.report import Snapshot

RISK = "risk"
ID = "pupil_id"
_FAMILY = {f.name: f.family for f in FEATURES}
_LABEL = {f.name: f.label_fr for f in FEATURES}
_CATEGORICAL = {f.name for f in FEATURES if f.categorical}


def _evidently() -> Any:
    """Evidently, imported on first use, its telemetry off (``DO_NOT_TRACK`` is set by the settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core and litestar, inside Evidently
        import evidently
        import evidently.legacy.core as legacy_core
        from evidently import metrics, presets, tests
        from evidently.legacy.calculations import stattests
    return evidently, metrics, presets, tests, stattests, legacy_core


@dataclass(frozen=True)
class ColumnDrift:
    """One feature's drift between the reference and current snapshots: the test used, its score, and whether it passed
    the threshold."""

    column: str
    label: str  # French, for the summary
    family: str
    method: str  # "wasserstein" (normed distance) or "psi"
    score: float | None  # None: not testable (empty on one side)
    drifted: bool
    missing_reference: float  # share of missing values
    missing_current: float
    new_categories: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OverallDrift:
    """Drift of the whole population: each feature's and the risk's, with the row counts compared."""

    columns: list[ColumnDrift]
    risk: ColumnDrift
    reference_rows: int
    current_rows: int

    @property
    def drifted(self) -> list[ColumnDrift]:
        """The features that drifted."""
        return [c for c in self.columns if c.drifted]

    @property
    def drifted_share(self) -> float:
        """The share of features that drifted (what the retraining alert judges)."""
        return len(self.drifted) / len(self.columns) if self.columns else 0.0

    def family_shares(self) -> dict[str, tuple[int, int]]:
        """Per family: (drifted features, features)."""
        out: dict[str, tuple[int, int]] = {}
        for column in self.columns:
            drifted, total = out.get(column.family, (0, 0))
            out[column.family] = (drifted + int(column.drifted), total + 1)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The drift as the verdict's JSON holds it."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "drifted_share": self.drifted_share,
            "risk": asdict(self.risk),
            "columns": [asdict(c) for c in self.columns],
        }


def _testable(reference: pd.Series, current: pd.Series) -> bool:
    return int(reference.notna().sum()) >= 2 and int(current.notna().sum()) >= 2


def overall_drift(
    reference: pd.DataFrame, current: pd.DataFrame, features: list[str], settings: DriftSettings
) -> tuple[OverallDrift, Snapshot]:
    """One Evidently report over every model input and the risk: a drift score per column
    (``DataDriftPreset``; ``ValueDrift`` with PSI on the risk), the share of drifted columns and
    the risk's drift as tests attached to their metrics; missing values and new categories beside it."""
    evidently, metrics, presets, tests, _, _ = _evidently()
    rows = (len(reference), len(current))
    reference, current = _sample(reference, settings), _sample(current, settings)
    testable = [c for c in features if _testable(reference[c], current[c])]
    numerical = [c for c in testable if c not in _CATEGORICAL] + [RISK]
    categorical = [c for c in testable if c in _CATEGORICAL]
    definition = evidently.DataDefinition(id_column=ID, numerical_columns=numerical, categorical_columns=categorical)
    columns = [ID, *testable, RISK]
    report = evidently.Report(
        [
            presets.DataDriftPreset(
                columns=testable, num_method="wasserstein", num_threshold=settings.distance_threshold,
                cat_method="psi", cat_threshold=settings.psi_threshold, drift_share=0.5,
            ),
            metrics.ValueDrift(
                column=RISK, method="psi", threshold=settings.risk_psi_threshold,
                tests=[tests.lt(settings.risk_psi_threshold)],
            ),
        ],
        include_tests=True,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning, RuntimeWarning))
        snapshot = report.run(
            evidently.Dataset.from_pandas(current[columns], data_definition=definition),
            evidently.Dataset.from_pandas(reference[columns], data_definition=definition),
        )
    scores = _value_drifts(json.loads(snapshot.json()))
    drifts = [
        _column(c, reference[c], current[c], scores.get(c), *(
            ("psi", settings.psi_threshold) if c in _CATEGORICAL else ("wasserstein", settings.distance_threshold)
        ))
        for c in features
    ]  # fmt: skip
    risk = _column(RISK, reference[RISK], current[RISK], scores.get(RISK), "psi", settings.risk_psi_threshold)
    return OverallDrift(drifts, risk, *rows), snapshot


def _sample(frame: pd.DataFrame, settings: DriftSettings) -> pd.DataFrame:
    if settings.sample_rows is None or len(frame) <= settings.sample_rows:
        return frame
    return frame.sample(settings.sample_rows, random_state=settings.seed)


def _value_drifts(result: dict[str, Any]) -> dict[str, float]:
    """Each column's drift score, read from the report's ``ValueDrift`` metrics."""
    out = {}
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith(":ValueDrift") and isinstance(metric.get("value"), (int, float)):
            out[str(config["column"])] = float(metric["value"])
    return out


def _column(
    name: str, reference: pd.Series, current: pd.Series, score: float | None, method: str, threshold: float
) -> ColumnDrift:
    missing_reference, missing_current = float(reference.isna().mean()), float(current.isna().mean())
    new: list[str] = []
    if name in _CATEGORICAL:
        new = sorted(set(current.dropna().astype(str)) - set(reference.dropna().astype(str)))
    # A column present on one side only (an export that stopped sending grades) has drifted.
    drifted = (score is not None and score >= threshold) or (score is None and missing_reference != missing_current)
    return ColumnDrift(
        name, _LABEL.get(name, "Risque estimé"), _FAMILY.get(name, "score"), method, score, bool(drifted or new),
        missing_reference, missing_current, new,
    )  # fmt: skip


@dataclass(frozen=True)
class SliceDrift:
    """One school or one audit group against its own reference."""

    kind: str  # "school" or an audit attribute identifier
    name: str  # UAI or group label
    reference_pupils: int
    current_pupils: int
    status: str  # "tested", "too_small", "new" (no reference)
    columns: dict[str, dict[str, float]] = field(default_factory=dict)  # column -> psi, p_value, drifted

    @property
    def drifted_columns(self) -> list[str]:
        """The features of the slice marked as drifted (after the Bonferroni correction)."""
        return [c for c, v in self.columns.items() if v["drifted"]]


def slice_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    reference_keys: pd.Series,
    current_keys: pd.Series,
    kind: str,
    settings: SliceSettings,
) -> list[SliceDrift]:
    """Each slice's monitored features against the same slice of the reference, with Evidently's
    tests: the normed Wasserstein distance (effect) and Kolmogorov-Smirnov (significance,
    corrected afterwards, see :func:`correct`).

    Not PSI here: within one school every rate shares a denominator (the school's half-days),
    so its values sit on a lattice that moves a little from one year to the next (240 or 242
    half-days); fixed bins then empty on one side and PSI explodes on an unchanged school. A
    distance in units of the reference's spread does not care.
    """
    _, _, _, _, stattests, legacy_core = _evidently()
    numerical = legacy_core.ColumnType.Numerical
    columns = monitored_columns(list(current.columns), settings)
    by_reference = reference.groupby(reference_keys.to_numpy(), sort=False).indices
    out = []
    for name, rows in current.groupby(current_keys.to_numpy(), sort=True).indices.items():
        ref_rows = by_reference.get(name)
        n_ref = 0 if ref_rows is None else len(ref_rows)
        if ref_rows is None:
            out.append(SliceDrift(kind, str(name), 0, len(rows), "new"))
            continue
        if min(n_ref, len(rows)) < settings.min_pupils:
            out.append(SliceDrift(kind, str(name), n_ref, len(rows), "too_small"))
            continue
        tested: dict[str, dict[str, float]] = {}
        for column in columns:
            ref = reference[column].iloc[ref_rows].dropna()
            cur = current[column].iloc[rows].dropna()
            if min(len(ref), len(cur)) < settings.min_pupils or ref.nunique() + cur.nunique() < 3:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                distance = stattests.wasserstein_stat_test(ref, cur, numerical, settings.distance_threshold)
                p_value = stattests.ks_stat_test(ref, cur, numerical, settings.significance).drift_score
            tested[column] = {"distance": float(distance.drift_score), "p_value": float(p_value), "drifted": 0.0}
        out.append(SliceDrift(kind, str(name), n_ref, len(rows), "tested", tested))
    return out


def monitored_columns(available: list[str], settings: SliceSettings) -> list[str]:
    """The configured slice features present in the snapshots, numeric ones only (the slice test compares
    distributions)."""
    return [name for name in settings.features if name in available and name not in _CATEGORICAL]


def correct(slices: list[SliceDrift], settings: SliceSettings) -> list[SliceDrift]:
    """Mark drifted columns: a distance over the threshold and a K-S p-value under the
    significance level divided by the number of tests run over every slice (Bonferroni)."""
    tests = sum(len(s.columns) for s in slices)
    level = settings.significance / max(tests, 1)
    for item in slices:
        for values in item.columns.values():
            values["drifted"] = float(values["distance"] >= settings.distance_threshold and values["p_value"] < level)
    return slices


def alerting(slices: list[SliceDrift], settings: SliceSettings) -> list[SliceDrift]:
    """The slices with enough drifted features to raise an alert."""
    return [s for s in slices if len(s.drifted_columns) >= settings.min_drifted_features]
