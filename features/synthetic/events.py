"""Attendance, grades and incidents of one simulated school year, drawn from disengagement.

Rates are per school half-day (or per month for incidents) and rise with the pupil's monthly
disengagement; attendance reacts first, grades a month later, incidents after that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synthetic.population import KIND_COLLEGE, KIND_GT, KIND_PRO, Pupils, Schools, YearState, _kind_of_level

SUBJECTS: dict[int, tuple[str, ...]] = {
    KIND_COLLEGE: ("FRANCAIS", "MATHS", "HIST-GEO", "LV1", "LV2", "SVT", "PHYS-CHIM", "EPS"),
    KIND_GT: ("FRANCAIS", "MATHS", "HIST-GEO", "LV1", "LV2", "SES", "PHYS-CHIM", "EPS"),
    KIND_PRO: ("FRANCAIS", "MATHS", "HIST-GEO", "LV1", "ENS-PRO", "PSE", "EPS"),
}
ALL_SUBJECTS = tuple(dict.fromkeys(s for subjects in SUBJECTS.values() for s in subjects))
# Per half-day rates by kind of school (collège, lycée GT, lycée pro).
_UNJUSTIFIED = np.array([0.0095, 0.019, 0.023])
_LATE = np.array([0.010, 0.014, 0.026])
_JUSTIFIED = 0.022
_EXCLUSION = 0.0007
_INCIDENT_KIND_BASE = np.array([0.6, 0.2, 0.12, 0.07, 0.01])


@dataclass
class Timeline:
    """The school half-days of one year: slot ``i`` is day ``days[i // 2]``, AM if even."""

    days: np.ndarray  # datetime64[D]
    month_bounds: np.ndarray  # first slot of each month Sep..Aug, then the slot count

    @classmethod
    def build(cls, days: np.ndarray, month_starts: np.ndarray) -> Timeline:
        """The timeline of ``days``, with the first slot of each month from ``month_starts``."""
        bounds = 2 * np.searchsorted(days, month_starts)
        return cls(days, np.append(bounds, 2 * days.size))

    def slot(self, day: np.ndarray) -> np.ndarray:
        """The first slot (morning) of each of ``day``, or of the next school day if it is none."""
        return 2 * np.searchsorted(self.days, day)


def _expand(
    owner: np.ndarray, start: np.ndarray, length: np.ndarray, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Slots covered by episodes (owner, start, length), cut at each episode's ``limit``."""
    total = int(length.sum())
    rows = np.repeat(np.arange(owner.size), length)
    offset = np.arange(total) - np.repeat(np.cumsum(length) - length, length)
    slot = start[rows] + offset
    keep = slot < limit[rows]
    return owner[rows][keep], slot[keep]


@dataclass
class YearEvents:
    """One simulated year's raw events, column by column, before the writer gives them the contract's shape."""

    attendance: dict[str, np.ndarray]  # pupil, day, half_day, kind, justified
    grades: dict[str, np.ndarray]  # pupil, day, subject, score, max_score, coefficient
    incidents: dict[str, np.ndarray]  # pupil, day, kind


@dataclass(frozen=True)
class _Presence:
    """Where each pupil's year in school lies on the timeline: first and last half-day slot, and
    the slots spent in each month (what the grade and incident draws scale with)."""

    timeline: Timeline
    start: np.ndarray  # first slot, per pupil
    stop: np.ndarray  # slot after the last, per pupil
    month_lo: np.ndarray  # pupils x 12 months: first slot present in the month
    exposure: np.ndarray  # pupils x 12 months, in half-days


def draw_year(
    rng: np.random.Generator,
    state: YearState,
    pupils: Pupils,
    schools: Schools,
    d: np.ndarray,
    timeline: Timeline,
    *,
    recording_bias: np.ndarray | None = None,
    grades_per_subject: float = 25.0,
) -> YearEvents:
    """One school year's absences, lates, exclusions, grades and incidents, driven by each pupil's
    monthly disengagement ``d`` (pupils x 12 months), so the events carry the signal to learn."""
    stop = np.where(np.isnat(state.exit), np.datetime64("9999-12-31"), state.exit)
    s0, s1 = timeline.slot(state.entry), timeline.slot(stop)
    lo = np.clip(timeline.month_bounds[None, :-1], s0[:, None], s1[:, None])
    hi = np.clip(timeline.month_bounds[None, 1:], s0[:, None], s1[:, None])
    exposure = hi - lo  # pupils x 12 months, in half-days
    presence = _Presence(timeline, s0, s1, lo, exposure)
    kind = _kind_of_level(state.level)
    male = pupils.sex[state.pupil] == 1
    strict = schools.recording_strictness[state.school][:, None]
    if recording_bias is not None:
        strict = strict * recording_bias[:, None]
    lagged = np.concatenate([d[:, :1], d[:, :-1]], axis=1)

    episodes = []  # (rate per half-day, mean length, kind code, justified)
    episodes.append((_UNJUSTIFIED[kind][:, None] * strict * np.exp(d), 1.8, 0, False))
    episodes.append((_JUSTIFIED * np.exp(0.3 * d), 3.0, 0, True))
    episodes.append((_EXCLUSION * np.exp(0.8 * lagged) * (1 + 0.6 * male)[:, None], 1.0, 2, False))
    episodes.append((_LATE[kind][:, None] * np.exp(0.5 * d), 1.0, 1, False))
    owners, slots, kinds, justified = [], [], [], []
    flat_lo, flat_hi, flat_exp = lo.ravel(), hi.ravel(), exposure.ravel()
    for rate, mean_len, code, just in episodes:
        count = rng.poisson((rate * exposure / mean_len).ravel())
        cell = np.repeat(np.arange(count.size), count)
        start = flat_lo[cell] + (rng.random(cell.size) * flat_exp[cell]).astype(np.int64)
        length = rng.geometric(1 / mean_len, cell.size) if mean_len > 1 else np.ones(cell.size, dtype=np.int64)
        owner, slot = _expand(cell // 12, start, length, flat_hi[cell])
        owners.append(owner)
        slots.append(slot)
        kinds.append(np.full(owner.size, code, dtype=np.int8))
        justified.append(np.full(owner.size, just) | ((code == 1) & (rng.random(owner.size) < 0.2)))
    owner, slot = np.concatenate(owners), np.concatenate(slots)
    order = np.lexsort((np.arange(owner.size), slot, owner))  # earlier list wins a shared half-day
    owner, slot = owner[order], slot[order]
    first = np.ones(owner.size, dtype=bool)
    first[1:] = (owner[1:] != owner[:-1]) | (slot[1:] != slot[:-1])
    sel = order[first]
    attendance = {
        "pupil": state.pupil[owner[first]],
        "day": timeline.days[slot[first] // 2],
        "half_day": (slot[first] % 2).astype(np.int8),
        "kind": np.concatenate(kinds)[sel],
        "justified": np.concatenate(justified)[sel],
    }
    return YearEvents(
        attendance,
        _grades(rng, state, pupils, presence, kind, lagged, per_subject=grades_per_subject),
        _incidents(rng, state, pupils, presence, lagged, male),
    )


def _grades(
    rng: np.random.Generator,
    state: YearState,
    pupils: Pupils,
    presence: _Presence,
    kind: np.ndarray,
    lagged: np.ndarray,
    *,
    per_subject: float,
) -> dict[str, np.ndarray]:
    s0, s1, timeline = presence.start, presence.stop, presence.timeline
    n = state.pupil.size
    share = (s1 - s0) / max(1, timeline.month_bounds[-1])
    subject_names = np.array(ALL_SUBJECTS)
    owners, subjects = [], []
    for k, names in SUBJECTS.items():
        rows = np.flatnonzero(kind == k)
        codes = np.array([ALL_SUBJECTS.index(s) for s in names])
        counts = rng.poisson(np.repeat(per_subject * share[rows], codes.size))
        counts[rng.random(counts.size) < 0.01] = 0  # a subject with no grade at all this year
        owners.append(np.repeat(np.repeat(rows, codes.size), counts))
        subjects.append(np.repeat(np.tile(codes, rows.size), counts))
    owner, subject = np.concatenate(owners), np.concatenate(subjects)
    slot = s0[owner] + (rng.random(owner.size) * (s1 - s0)[owner]).astype(np.int64)
    keep = (s1 > s0)[owner]
    owner, subject, slot = owner[keep], subject[keep], slot[keep]
    month = np.searchsorted(timeline.month_bounds, slot, side="right") - 1
    ability = pupils.ability[state.pupil[owner]]
    pupil_subject = rng.normal(0, 1.2, (n, len(ALL_SUBJECTS)))[owner, subject]
    mean = 11.5 + 2.2 * ability + pupil_subject - 1.4 * lagged[owner, np.clip(month, 0, 11)]
    score20 = np.clip(np.round(2 * (mean + rng.normal(0, 2.6, owner.size))) / 2, 0, 20)
    out_of_10 = rng.random(owner.size) < 0.15
    coefficient = rng.choice([1.0, 2.0, 0.5], size=owner.size, p=[0.7, 0.2, 0.1])
    coefficient[rng.random(owner.size) < 0.08] = np.nan  # optional column, often left blank
    return {
        "pupil": state.pupil[owner],
        "day": timeline.days[slot // 2],
        "subject": subject_names[subject],
        "score": np.where(out_of_10, np.round(score20) / 2, score20),
        "max_score": np.where(out_of_10, 10.0, 20.0),
        "coefficient": coefficient,
    }


def _incidents(
    rng: np.random.Generator,
    state: YearState,
    pupils: Pupils,
    presence: _Presence,
    lagged: np.ndarray,
    male: np.ndarray,
) -> dict[str, np.ndarray]:
    exposure, lo, timeline = presence.exposure, presence.month_lo, presence.timeline
    month_size = np.diff(timeline.month_bounds)
    share = exposure / np.maximum(month_size, 1)[None, :]
    rate = 0.022 * np.exp(0.9 * lagged) * (1 + 0.6 * male)[:, None] * share
    count = rng.poisson(rate.ravel())
    cell = np.repeat(np.arange(count.size), count)
    slot = lo.ravel()[cell] + (rng.random(cell.size) * exposure.ravel()[cell]).astype(np.int64)
    owner = cell // 12
    severity = np.log(_INCIDENT_KIND_BASE)[None, :] + 0.25 * lagged.ravel()[cell][:, None] * np.arange(5)[None, :]
    gumbel = -np.log(-np.log(rng.random(severity.shape)))
    return {
        "pupil": state.pupil[owner],
        "day": timeline.days[slot // 2],
        "kind": np.argmax(severity + gumbel, axis=1).astype(np.int8),
    }
