"""Reasons: per-pupil TreeSHAP contributions grouped into signals staff recognise, in French.

Contributions are LightGBM's exact TreeSHAP (``pred_contrib``) in log-odds. Related features
add up into one signal ("Absences non justifiées", "Résultats en mathématiques"...); the
risk-raising signals come first, each with the value of its most contributing feature and a
sentence comparing it with the pupils of the same grade level. Grade level, track and age
are context, not reasons: they count in the score but are offered only when nothing else
raises the risk (then as "Situation scolaire", said plainly). Sensitive attributes cannot
appear: they are not features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import french
from features.catalog import CONTEXT_ONLY, FEATURES, Reason, Unit

#: Every feature worded as a reason, by the catalogue; the rest are context only.
WORDING: dict[str, Reason] = {f.name: f.reason for f in FEATURES if isinstance(f.reason, Reason)}
#: Signals staff recognise, in catalogue order; each sums the contributions of its features.
SIGNALS: dict[str, tuple[str, ...]] = {}
for _feature, _reason in WORDING.items():
    SIGNALS[_reason.signal] = (*SIGNALS.get(_reason.signal, ()), _feature)
#: Features that weigh in the score but are never offered as a reason.
CONTEXT = tuple(f.name for f in FEATURES if f.reason == CONTEXT_ONLY)


def _shown(value: float, unit: Unit, *, reference: bool = False) -> str:
    """The value as staff read it; a reference count keeps a decimal (« 0,4 en moyenne »)."""
    if unit == "pct":
        return french.percent(value)
    if unit == "share":
        return french.percent(max(0.01, value))
    if unit == "grade":
        return french.number(value, 1)
    if reference and unit in ("count", "years"):
        return french.number(value, 1)
    return french.integer(value)


def sentence(feature: str, value: float, reference: float | None) -> str:
    """The catalogue's sentence for ``feature`` at ``value``, with the same-level mean where it helps."""
    wording = WORDING[feature]
    shown = -value if wording.negate else value
    text = _shown(shown, wording.unit)
    template = wording.one if wording.many is None or np.isnan(shown) else None
    if template is None:
        template = french.plural(round(shown) if wording.unit != "grade" else shown, wording.one, wording.many or "")
    out = template.format(value=text)
    if wording.compare and reference is not None and not np.isnan(reference) and not np.isnan(value):
        ref = _shown(-reference if wording.negate else reference, wording.unit, reference=True)
        if ref != text:  # the same figure twice tells the reader nothing
            suffix = "/20" if wording.unit == "grade" else ""
            out += f" ({ref}{suffix} en moyenne au même niveau)"
    return out


def signal_matrix(features: list[str]) -> tuple[list[str], np.ndarray]:
    """Signals and the 0/1 matrix (features x signals) that sums feature contributions into them."""
    signals = list(SIGNALS)
    matrix = np.zeros((len(features), len(signals)))
    for i, feature in enumerate(features):
        if feature in WORDING:
            matrix[i, signals.index(WORDING[feature].signal)] = 1.0
    return signals, matrix


def top_signals(contributions: np.ndarray, features: list[str], k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rows x k) of the k most risk-raising signals, and their summed contributions."""
    _, matrix = signal_matrix(features)
    per_signal = contributions[:, : len(features)] @ matrix
    order = np.argsort(-per_signal, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(per_signal, order, axis=1)


@dataclass(frozen=True)
class LevelMeans:
    """The mean of each feature per grade level in a batch (the « au même niveau » figures),
    as arrays in the model's feature order: built once a batch, read for every reason."""

    means: dict[str, np.ndarray]

    @classmethod
    def of(cls, references: pd.DataFrame, features: list[str]) -> LevelMeans:
        """From a table of means (index: grade level, columns: features); absent features are NaN."""
        table = references.reindex(columns=features).astype(float)
        return cls({str(level): row.to_numpy() for level, row in table.iterrows()})


def reasons(
    contributions: np.ndarray,
    values: np.ndarray,
    levels: np.ndarray,
    features: list[str],
    references: LevelMeans,
    k: int = 3,
) -> list[list[dict[str, object]]]:
    """The contract's ``reasons`` per row: most risk-raising signals first, positive ones only.

    ``values`` holds the rows' model inputs as numbers (:func:`models.matrix.encoded_matrix`),
    ``levels`` their grade levels; ``references`` the means of the same level in the batch.
    """
    signals, _ = signal_matrix(features)
    order, totals = top_signals(contributions, features, k)
    column = {f: i for i, f in enumerate(features)}
    out: list[list[dict[str, object]]] = []
    for row in range(len(values)):
        items: list[dict[str, object]] = []
        for j in range(order.shape[1]):
            if totals[row, j] <= 0:
                break
            signal = signals[order[row, j]]
            members = [f for f in SIGNALS[signal] if f in column]
            lead = max(members, key=lambda f: contributions[row, column[f]])
            value = float(values[row, column[lead]])
            means = references.means.get(str(levels[row]))
            reference = None if means is None else float(means[column[lead]])
            items.append(
                {
                    "signal": signal,
                    "value": value,
                    "contribution": float(totals[row, j]),
                    "text": sentence(lead, value, reference),
                }
            )
        if not items:
            age = float(values[row, column["age_years"]]) if "age_years" in column else float("nan")
            items.append(_context_reason(contributions[row], column, str(levels[row]), age))
        out.append(items)
    return out


def _context_reason(contributions: np.ndarray, column: dict[str, int], level: str, age: float) -> dict[str, object]:
    """When no signal raises the risk, say plainly that it comes from the pupil's situation."""
    total = float(sum(contributions[column[f]] for f in CONTEXT if f in column))
    text = (
        f"Le risque tient au niveau ({level}) et à l'âge ({french.integer(age)} ans) ; "
        "aucun signal d'assiduité, de résultats ou de comportement ne l'augmente"
    )
    return {"signal": "Situation scolaire", "value": age, "contribution": total, "text": text}
