"""The whole explanation of one pupil's score, and of the change between two batches.

:mod:`models.reasons` words the few signals that raise a risk most. A family may ask for more
(CRPA R311-3-1-2, 3°: the parameters and their weighting *applied to their situation*; GDPR
15(1)(h)): here **every** model input, its value for the pupil, its exact TreeSHAP contribution
and the catalogue's French wording, ranked by weight. The contributions are in log-odds, the
scale on which they add up exactly: ``base_value + sum(contributions) == score``, the model's raw
margin (:meth:`DropoutRiskModel.decision_function`); the calibrated risk staff read is a
monotone function of that margin, given beside it, never mixed with it.

The change between two batches of the same model is the difference of the two explanations:
the base value cancels, so the differences of contributions add up to the change of the raw
margin exactly, and grouped into the signals staff recognise they say which moved the risk up
or down. Sensitive attributes cannot appear: they are not model inputs.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from features import french
from features.catalog import FEATURES, GRADE_LEVEL_LABELS_FR, TRACK_LABELS_FR
from models.matrix import CATEGORIES
from models.reasons import WORDING, LevelMeans, sentence

#: The signal the context features (grade level, track, age) add up into, as reasons name it.
CONTEXT_SIGNAL = "Situation scolaire"
_LABELS = {f.name: f.label_fr for f in FEATURES}


class InputContribution(BaseModel):
    """One model input for one pupil: its value, its contribution (log-odds) and its sentence."""

    model_config = ConfigDict(frozen=True)
    feature: str = Field(examples=["unjustified_absence_rate_year"])
    label: str = Field(description="The catalogue's French label.", examples=["Taux d'absences non justifiées (année)"])
    value: float | str | None = Field(description="The pupil's value (a category's code; null: missing).")
    contribution: float = Field(description="Exact TreeSHAP contribution, log-odds (> 0 raises the risk).")
    text: str = Field(description="The value in the catalogue's French wording.")


class PupilContributions(BaseModel):
    """Every input of one pupil, most weighty first; ``base_value`` plus the contributions is ``score``."""

    model_config = ConfigDict(frozen=True)
    base_value: float = Field(description="The model's mean raw score (log-odds), before any input.")
    score: float = Field(description="The pupil's raw score (log-odds): base_value + sum of the contributions.")
    inputs: list[InputContribution]


class InputChange(BaseModel):
    """One input between two batches: both values and the change of its contribution (log-odds)."""

    model_config = ConfigDict(frozen=True)
    feature: str
    label: str
    previous_value: float | str | None
    value: float | str | None
    contribution_change: float = Field(description="Contribution now minus contribution then, log-odds.")
    previous_text: str
    text: str


class SignalChange(BaseModel):
    """A signal staff recognise and how much its inputs moved the raw score (log-odds)."""

    model_config = ConfigDict(frozen=True)
    signal: str
    contribution_change: float
    inputs: list[InputChange] = Field(description="Its inputs, the ones that moved most first.")


class ScoreChange(BaseModel):
    """Why the raw score moved between two batches of one model: the signals' changes add up to
    ``score - previous_score`` (log-odds)."""

    model_config = ConfigDict(frozen=True)
    previous_score: float
    score: float
    score_change: float
    signals: list[SignalChange] = Field(description="Every signal, the one that moved most first (either way).")


def decoded(feature: str, value: float) -> float | str | None:
    """An encoded model input as people read it: a category's code, a number, or None (missing)."""
    if np.isnan(value):
        return None
    if feature in CATEGORIES:
        return CATEGORIES[feature][int(value)]
    return float(value)


def input_text(feature: str, value: float, reference: float = float("nan")) -> str:
    """The value of any model input in French: the catalogue's sentence where it reads true for this
    value (with the same-level mean where the catalogue compares), else « label : figure »."""
    wording = WORDING.get(feature)
    if wording is None or np.isnan(value):
        return _plain_text(feature, value)
    if wording.unit == "flag":  # the catalogue's sentence states the fact: true only when it holds
        return sentence(feature, value, None) if value >= 0.5 else f"{_LABELS[feature]} : non"
    if (-value if wording.negate else value) >= 0:
        return sentence(feature, value, None if np.isnan(reference) else reference)
    if wording.unit in ("pct", "share"):  # a signed change of a rate, in points
        return f"{_LABELS[feature]} : {french.signed(100 * value, 0)} points"
    return f"{_LABELS[feature]} : {french.signed(value, 1)} {french.plural(value, 'point', 'points')}"


def _plain_text(feature: str, value: float) -> str:
    """A context input (grade level, track, age), or a missing value: the catalogue's sentence for
    it where there is one, else that nothing was recorded."""
    label, shown = _LABELS[feature], decoded(feature, value)
    wording = WORDING.get(feature)
    if shown is None:
        missing = wording.missing if wording is not None else None
        return missing or f"{label} : aucune valeur à cette date"
    names = {"grade_level": GRADE_LEVEL_LABELS_FR, "track": TRACK_LABELS_FR}.get(feature)
    if names is not None:
        return f"{label} : {names.get(str(shown), str(shown))}"
    return f"{label} : {french.number(value, 1)} ans"  # the age, the one numeric context input


def pupil_contributions(
    contributions: np.ndarray, values: np.ndarray, features: list[str], level: str, references: LevelMeans
) -> PupilContributions:
    """One pupil's full explanation from its TreeSHAP row (features then bias, as
    :meth:`DropoutRiskModel.contributions` gives it) and its encoded inputs, ranked by the size
    of the contribution (ties in catalogue order)."""
    row = np.asarray(contributions, dtype=float).reshape(-1)
    values = np.asarray(values, dtype=float).reshape(-1)
    if row.size != len(features) + 1 or values.size != len(features):
        raise ValueError(f"expected {len(features)} contributions plus the bias and {len(features)} values")
    means = references.means.get(level)
    items = [
        InputContribution(
            feature=name,
            label=_LABELS[name],
            value=decoded(name, values[i]),
            contribution=float(row[i]),
            text=input_text(name, values[i], float(means[i]) if means is not None else float("nan")),
        )
        for i, name in enumerate(features)
    ]
    order = np.argsort(-np.abs(row[:-1]), kind="stable")
    return PupilContributions(base_value=float(row[-1]), score=float(row.sum()), inputs=[items[i] for i in order])


def signal_of(feature: str) -> str:
    """The signal a feature adds up into (the context features into :data:`CONTEXT_SIGNAL`)."""
    wording = WORDING.get(feature)
    return wording.signal if wording is not None else CONTEXT_SIGNAL


def score_change(
    previous: np.ndarray, current: np.ndarray, previous_values: np.ndarray, values: np.ndarray, features: list[str]
) -> ScoreChange:
    """Why one pupil's raw score moved between two batches *of the same model*: TreeSHAP rows
    (features then bias) and encoded inputs of each. Every signal is listed, the one that moved
    most first; within it, its inputs likewise. Signed: > 0 moved the risk up."""
    before, after = np.asarray(previous, dtype=float).reshape(-1), np.asarray(current, dtype=float).reshape(-1)
    if before.size != len(features) + 1 or after.size != len(features) + 1:
        raise ValueError(f"expected {len(features)} contributions plus the bias in each row")
    if not np.isclose(before[-1], after[-1]):
        raise ValueError("the two rows come from different models (their base values differ): no change to explain")
    old, new = np.asarray(previous_values, dtype=float).reshape(-1), np.asarray(values, dtype=float).reshape(-1)
    delta = after[:-1] - before[:-1]
    grouped: dict[str, list[int]] = {}
    for i, name in enumerate(features):
        grouped.setdefault(signal_of(name), []).append(i)
    signals = []
    for signal, members in grouped.items():
        ranked = sorted(members, key=lambda i: -abs(delta[i]))
        inputs = [
            InputChange(
                feature=features[i],
                label=_LABELS[features[i]],
                previous_value=decoded(features[i], old[i]),
                value=decoded(features[i], new[i]),
                contribution_change=float(delta[i]),
                previous_text=input_text(features[i], old[i]),
                text=input_text(features[i], new[i]),
            )
            for i in ranked
        ]
        signals.append(SignalChange(signal=signal, contribution_change=float(delta[members].sum()), inputs=inputs))
    signals.sort(key=lambda s: -abs(s.contribution_change))
    return ScoreChange(
        previous_score=float(before.sum()),
        score=float(after.sum()),
        score_change=float(after.sum() - before.sum()),
        signals=signals,
    )
