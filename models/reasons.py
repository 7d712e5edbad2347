"""Reasons: per-pupil TreeSHAP contributions grouped into signals staff recognise, in French.

Contributions are LightGBM's exact TreeSHAP (``pred_contrib``) in log-odds. Related features
add up into one signal ("Absences non justifiées", "Résultats en mathématiques"...); the
risk-raising signals come first, each with the value of its most contributing feature and a
sentence comparing it with the pupils of the same grade level. Grade level, track and age
are context, not reasons: they count in the score but are offered only when nothing else
raises the risk (then as "Situation scolaire", said plainly). Sensitive attributes cannot
appear: they are not features.

A missing value is never shown as a figure (« —/20 »). Its contribution is real, so where the
catalogue says what missing means (« Aucune note en sciences cette année ») that sentence is
the reason; otherwise the contribution is left out of the reasons (it still counts in the score)
and the signal is worded by its other features, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

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
#: Worded features whose missing value reads as a fact (the catalogue's ``missing`` sentence).
WORDED_WHEN_MISSING = frozenset(name for name, wording in WORDING.items() if wording.missing is not None)


def _shown(values: np.ndarray, unit: Unit, *, reference: bool = False) -> list[str]:
    """The values as staff read them; a reference count keeps a decimal (« 0,4 en moyenne »)."""
    if unit == "pct":
        return french.percents(values.tolist())
    if unit == "share":  # never below 1 %, a missing share included (as Python's max(0.01, nan))
        return french.percents(np.where(np.isnan(values), 0.01, np.maximum(0.01, values)).tolist())
    if unit == "grade" or (reference and unit in ("count", "years")):
        return french.numbers(values.tolist(), 1)
    return french.numbers(values.tolist(), 0)


def sentences(feature: str, values: np.ndarray, references: np.ndarray) -> list[str]:
    """The catalogue's sentences for ``feature`` at ``values`` (a batch's reasons, column-wise),
    each with its same-level mean where it helps; a NaN reference means none."""
    wording = WORDING[feature]
    values = np.asarray(values, dtype=float)
    references = np.asarray(references, dtype=float)
    missing = np.isnan(values)
    if missing.any() and wording.missing is None:
        raise ValueError(f"{feature}: a missing value is never worded as a reason (the catalogue gives no sentence)")
    shown = -values if wording.negate else values
    texts = _shown(shown, wording.unit)
    if wording.many is None:
        templates = [wording.one] * len(values)
    else:  # French agreement on the figure as shown (a count rounds, a grade does not)
        counted = shown if wording.unit == "grade" else np.round(shown)
        singular = np.isnan(shown) | (np.abs(counted) < 2)
        templates = [wording.one if one else wording.many for one in singular.tolist()]
    out = [
        str(wording.missing) if absent else template.format(value=text)
        for template, text, absent in zip(templates, texts, missing.tolist(), strict=True)
    ]
    if not wording.compare:
        return out
    refs = _shown(-references if wording.negate else references, wording.unit, reference=True)
    suffix = "/20" if wording.unit == "grade" else ""
    comparable = (~np.isnan(references) & ~np.isnan(values)).tolist()
    for i, (ok, ref, text) in enumerate(zip(comparable, refs, texts, strict=True)):
        if ok and ref != text:  # the same figure twice tells the reader nothing
            out[i] += f" ({ref}{suffix} en moyenne au même niveau)"
    return out


def sentence(feature: str, value: float, reference: float | None) -> str:
    """One pupil's sentence for ``feature`` (the batch's :func:`sentences`, for one row)."""
    return sentences(feature, np.array([value]), np.array([np.nan if reference is None else reference]))[0]


def signal_matrix(features: list[str]) -> tuple[list[str], np.ndarray]:
    """Signals and the 0/1 matrix (features x signals) that sums feature contributions into them."""
    signals = list(SIGNALS)
    matrix = np.zeros((len(features), len(signals)))
    for i, feature in enumerate(features):
        if feature in WORDING:
            matrix[i, signals.index(WORDING[feature].signal)] = 1.0
    return signals, matrix


def wordable(contributions: np.ndarray, values: np.ndarray, features: list[str]) -> np.ndarray:
    """The contributions the reasons may word: those of a missing value the catalogue cannot
    word become 0 (they stay in the score, never in a reason)."""
    unworded = np.array([f not in WORDED_WHEN_MISSING for f in features], dtype=bool)
    kept = np.array(contributions[:, : len(features)], dtype=float)
    kept[np.isnan(np.asarray(values, dtype=float)) & unworded] = 0.0
    return kept


def top_signals(contributions: np.ndarray, features: list[str], k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rows x k) of the k most risk-raising signals, and their summed contributions."""
    _, matrix = signal_matrix(features)
    per_signal = contributions[:, : len(features)] @ matrix
    order = np.argsort(-per_signal, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(per_signal, order, axis=1)


class ReasonItem(BaseModel):
    """One reason of one pupil, as the contract, the batch, the API and the pages carry it: the
    signal staff recognise, its leading feature's value, the signal's summed contribution
    (log-odds) and the French sentence."""

    model_config = ConfigDict(frozen=True)
    signal: str
    value: float | None
    contribution: float
    text: str


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


@dataclass(frozen=True)
class ReasonColumns:
    """Reasons column-wise: row ``i`` owns the items ``offsets[i]:offsets[i + 1]`` of the flat
    columns (most risk-raising first), ready for an Arrow list column without a dict per item."""

    offsets: np.ndarray
    signal: list[str]
    value: np.ndarray
    contribution: np.ndarray
    text: list[str]

    def as_lists(self) -> list[list[ReasonItem]]:
        """The contract's ``reasons`` per row, as typed items (the API's form)."""
        items = [
            ReasonItem(signal=s, value=v, contribution=c, text=t)
            for s, v, c, t in zip(self.signal, self.value.tolist(), self.contribution.tolist(), self.text, strict=True)
        ]
        bounds = self.offsets.tolist()
        return [items[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


def reason_columns(
    contributions: np.ndarray,
    values: np.ndarray,
    levels: np.ndarray,
    features: list[str],
    references: LevelMeans,
    k: int = 3,
) -> ReasonColumns:
    """Each row's reasons, most risk-raising signals first, positive ones only (or the pupil's
    situation when nothing raises the risk). ``values`` holds the rows' model inputs as numbers
    (:func:`models.matrix.encoded_matrix`), ``levels`` their grade levels; ``references`` the
    means of the same level in the batch. Built column-wise: each signal's leading feature with
    numpy, each feature's sentences at once. A missing value the catalogue cannot word counts for
    nothing here (:func:`wordable`), so it never leads a signal nor lifts one into the list."""
    signals, _ = signal_matrix(features)
    context_contributions = contributions
    contributions = wordable(contributions, values, features)
    order, totals = top_signals(contributions, features, k)
    column = {f: i for i, f in enumerate(features)}
    n = len(values)
    rows = np.arange(n)[:, None]
    # The leading feature of each (row, signal): its member that contributes most (first on ties).
    lead_of = np.zeros((n, len(signals)), dtype=np.int64)
    for index, signal in enumerate(signals):
        members = np.array([column[f] for f in SIGNALS[signal] if f in column], dtype=np.int64)
        if members.size:
            lead_of[:, index] = members[np.argmax(contributions[:, members], axis=1)]
    lead = lead_of[rows, order]
    value = values[rows, lead].astype(float)
    level = np.asarray(levels).astype(str)
    reference = np.full(lead.shape, np.nan)
    for name, means in references.means.items():
        here = level == name
        reference[here] = means[lead[here]]
    kept = totals > 0  # signals come by decreasing total: the first non-positive one ends the list
    texts = np.empty(lead.shape, dtype=object)
    for feature_column in np.unique(lead[kept]):
        where = kept & (lead == feature_column)
        texts[where] = sentences(features[int(feature_column)], value[where], reference[where])
    names = np.asarray(signals, dtype=object)[order]
    contribution = totals.astype(float)
    for row in np.flatnonzero(~kept[:, 0]):  # nothing raises the risk: the pupil's situation, said plainly
        age = float(values[row, column["age_years"]]) if "age_years" in column else float("nan")
        context = _context_reason(context_contributions[row], column, str(levels[row]), age)
        names[row, 0], value[row, 0], texts[row, 0] = context.signal, context.value, context.text
        contribution[row, 0] = context.contribution
        kept[row, 0] = True
    offsets = np.concatenate([[0], np.cumsum(kept.sum(axis=1))]).astype(np.int32)
    return ReasonColumns(offsets, names[kept].tolist(), value[kept], contribution[kept], texts[kept].tolist())


def reasons(
    contributions: np.ndarray,
    values: np.ndarray,
    levels: np.ndarray,
    features: list[str],
    references: LevelMeans,
    k: int = 3,
) -> list[list[ReasonItem]]:
    """The contract's ``reasons`` per row, as typed items: :func:`reason_columns`, for the API."""
    return reason_columns(contributions, values, levels, features, references, k).as_lists()


def _context_reason(contributions: np.ndarray, column: dict[str, int], level: str, age: float) -> ReasonItem:
    """When no signal raises the risk, say plainly that it comes from the pupil's situation."""
    total = float(sum(contributions[column[f]] for f in CONTEXT if f in column))
    text = (
        f"Le risque tient au niveau ({level}) et à l'âge ({french.integer(age)} ans) ; "
        "aucun signal d'assiduité, de résultats ou de comportement ne l'augmente"
    )
    return ReasonItem(signal="Situation scolaire", value=age, contribution=total, text=text)
