"""Schools, pupils and their year-by-year trajectories for the synthetic district.

See :mod:`features.synthetic` for the model as a whole. Everything here is vectorised over
pupils; a school year is one step of the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from features.ingest import contract as c
from features.school import school_year_start

LEVEL_INDEX = {level: i for i, level in enumerate(c.GRADE_LEVELS)}
KIND_COLLEGE, KIND_GT, KIND_PRO = 0, 1, 2
#: Cohorts that entered 6E before the first simulated year, so every level is populated.
PAST_COHORTS = 6
#: Track effect on the dropout log-odds, by level: vocational tracks and CAP carry most risk.
_TRACK_EFFECT = np.array([-9, -9, -6, -4.5, -0.35, -0.2, -0.9, 1.0, 0.6, 0.8, 0.3, -0.2])
_REPEAT_BASE = np.array([0.012, 0.012, 0.012, 0.018, 0.04, 0.02, 0.05, 0.025, 0.025, 0.025, 0.02, 0.035])
_NEXT_LEVEL = np.array([1, 2, 3, -2, 5, 6, -1, 8, -1, 10, 11, -1])  # -1 graduates, -2 orientation


@dataclass
class Schools:
    """The district's schools, one array entry per school: kind, priority education, social index and how strictly each
    records absences."""

    uai: np.ndarray  # str
    kind: np.ndarray  # 0 collège, 1 lycée GT, 2 lycée professionnel
    priority: np.ndarray  # index into contract.PRIORITY_EDUCATION
    social_index: np.ndarray  # lower = more deprived
    recording_strictness: np.ndarray  # multiplies unjustified absence recording


@dataclass
class Pupils:
    """The district's pupils, one array entry per pupil: the fixed traits and the latent propensities the simulation
    draws events from."""

    sex: np.ndarray  # 0 F, 1 M
    birth_date: np.ndarray  # datetime64[D]
    start_year: np.ndarray  # year of entry in 6E
    social: np.ndarray
    risk: np.ndarray  # latent disengagement propensity
    ability: np.ndarray
    disability: np.ndarray  # index into contract.DISABILITY_PLANS
    allophone: np.ndarray  # bool


def make_uai(rng: np.random.Generator, n: int, prefix: str | None = None) -> np.ndarray:
    """``n`` distinct UAIs with their key letter; with ``prefix`` (a département code, three
    digits), all starting with it, as real UAIs do."""
    if prefix is None:
        digits = rng.choice(np.arange(100_000, 9_999_999), size=n, replace=False)
    else:
        digits = int(prefix) * 10_000 + rng.choice(10_000, size=n, replace=False)
    return np.array([f"{d:07d}{c.uai_key_letter(f'{d:07d}')}" for d in digits])


def make_schools(rng: np.random.Generator, pupils_per_cohort: int, uai_prefix: str | None = None) -> Schools:
    """Enough collèges and lycées (general and vocational) for ``pupils_per_cohort`` pupils a year, with their social
    mix and recording habits."""
    n_college = max(2, round(4 * pupils_per_cohort / 520))
    n_gt = max(1, round(1.9 * pupils_per_cohort / 950))
    n_pro = max(1, round(1.2 * pupils_per_cohort / 450))
    kind = np.repeat([KIND_COLLEGE, KIND_GT, KIND_PRO], [n_college, n_gt, n_pro])
    social = rng.normal(0, 1, kind.size)
    priority = np.zeros(kind.size, dtype=np.int8)
    colleges = np.flatnonzero(kind == KIND_COLLEGE)
    by_deprivation = colleges[np.argsort(social[colleges])]
    n_rep_plus, n_rep = max(1, round(0.08 * colleges.size)), max(1, round(0.14 * colleges.size))
    priority[by_deprivation[:n_rep_plus]] = 2
    priority[by_deprivation[n_rep_plus : n_rep_plus + n_rep]] = 1
    strictness = np.exp(rng.normal(0, 0.2, kind.size))
    return Schools(make_uai(rng, kind.size, uai_prefix), kind, priority, social, strictness)


def make_pupils(rng: np.random.Generator, n: int, start_years: np.ndarray) -> Pupils:
    """``n`` pupils entering 6e in ``start_years``, with the traits that drive their schooling and their risk of
    dropping out."""
    sex = rng.integers(0, 2, n).astype(np.int8)
    late_start = rng.random(n) < 0.07
    birth_year = start_years - 11 - late_start
    birth_date = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, n)
    social = rng.normal(0, 1, n)
    risk = 0.45 * -social + 0.85 * rng.normal(0, 1, n) + 0.15 * sex + 0.5 * late_start
    ability = 0.35 * social - 0.3 * risk + rng.normal(0, 0.85, n)
    disability = rng.choice(4, size=n, p=[0.945, 0.025, 0.02, 0.01]).astype(np.int8)
    ability -= 0.6 * (disability == 3)
    allophone = rng.random(n) < 0.012 + 0.02 * (social < -1)
    return Pupils(sex, birth_date, start_years, social, risk, ability, disability, allophone)


@dataclass
class YearState:
    """One school year of the district: who is enrolled where, and what happens to them."""

    school_year: int
    pupil: np.ndarray
    level: np.ndarray
    school: np.ndarray
    repeating: np.ndarray
    repeats_so_far: np.ndarray
    entry: np.ndarray  # datetime64[D]
    exit: np.ndarray  # datetime64[D], NaT = to the year's end
    move_date: np.ndarray  # NaT, or the day the pupil changed school mid-year
    move_school: np.ndarray  # new school when move_date is set
    dropout_date: np.ndarray  # NaT, or the event date (may fall in the next school year)
    episode: np.ndarray  # per month (Sep..Aug): extra disengagement, before any dropout ramp


def _month_starts(school_year: int) -> np.ndarray:
    return np.array([np.datetime64(date(school_year + (m < 9) * 1, m, 1), "D") for m in (*range(9, 13), *range(1, 9))])


def _pick_school(rng: np.random.Generator, schools: Schools, kinds: np.ndarray) -> np.ndarray:
    out = np.empty(kinds.size, dtype=np.int32)
    for kind in (KIND_COLLEGE, KIND_GT, KIND_PRO):
        candidates = np.flatnonzero(schools.kind == kind)
        mask = kinds == kind
        out[mask] = rng.choice(candidates, size=int(mask.sum()))
    return out


def _kind_of_level(level: np.ndarray) -> np.ndarray:
    return np.where(level <= 3, KIND_COLLEGE, np.where(level <= 6, KIND_GT, KIND_PRO))


class Simulation:
    """Steps the district one school year at a time."""

    def __init__(self, rng: np.random.Generator, schools: Schools, pupils: Pupils, dropout_shift: float) -> None:
        self.rng, self.schools, self.pupils, self.dropout_shift = rng, schools, pupils, dropout_shift
        n = pupils.sex.size
        self.level = np.full(n, -1, dtype=np.int8)
        self.school = np.full(n, -1, dtype=np.int32)
        self.repeats = np.zeros(n, dtype=np.int8)
        self.repeating = np.zeros(n, dtype=bool)
        self.done = np.zeros(n, dtype=bool)  # graduated or dropped out

    def step(self, school_year: int) -> YearState:
        """Move every pupil one school year on (entries, moves, repeats, dropouts, graduations) and return who is where
        that year."""
        rng, p = self.rng, self.pupils
        starting = (p.start_year == school_year) & ~self.done
        self.level[starting] = 0
        kinds = np.full(int(starting.sum()), KIND_COLLEGE)
        self.school[starting] = _pick_school(rng, self.schools, kinds)
        idx = np.flatnonzero((self.level >= 0) & ~self.done)
        level, n = self.level[idx], idx.size
        # Some pupils change school over the summer, within the same kind of school.
        movers = (rng.random(n) < 0.04) & ~starting[idx]
        self.school[idx[movers]] = _pick_school(rng, self.schools, _kind_of_level(level[movers]))
        school = self.school[idx]

        start = np.datetime64(school_year_start(school_year), "D")
        end = np.datetime64(school_year_start(school_year + 1), "D")
        entry = np.full(n, start)
        newcomer = (rng.random(n) < 0.02) & starting[idx]
        entry[newcomer] = start + rng.integers(30, 200, int(newcomer.sum()))

        age = school_year - p.birth_date[idx].astype("datetime64[Y]").astype(int) - 1970
        social_school = self.schools.social_index[school]
        logit = (
            -4.5
            + self.dropout_shift
            + 1.0 * p.risk[idx]
            - 0.5 * p.ability[idx]
            + _TRACK_EFFECT[level]
            + 0.9 * (age >= 16)
            + 0.5 * (age >= 17)
            + 0.45 * self.repeats[idx]
            - 0.15 * social_school
        )
        drops = rng.random(n) < 1 / (1 + np.exp(-logit))
        summer = drops & (rng.random(n) < 0.35)
        dropout = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        dropout[drops & ~summer] = start + rng.integers(35, 290, int((drops & ~summer).sum()))
        dropout[summer] = end + rng.integers(0, 45, int(summer.sum()))
        dropout = np.where(dropout <= entry, entry + 20, dropout)
        exit_ = np.where(drops & ~summer, dropout, np.datetime64("NaT"))

        move_mid = (rng.random(n) < 0.015) & ~drops
        move_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        move_date[move_mid] = np.maximum(entry[move_mid] + 10, start + rng.integers(60, 240, int(move_mid.sum())))
        move_school = school.copy()
        move_school[move_mid] = _pick_school(rng, self.schools, _kind_of_level(level[move_mid]))

        episode = np.zeros((n, 12), dtype=np.float32)
        has_episode = rng.random(n) < 0.06 + 0.04 * (p.risk[idx] > 1)
        first = rng.integers(0, 8, n)
        length = rng.integers(2, 6, n)
        months = np.arange(12)
        active = has_episode[:, None] & (months >= first[:, None]) & (months < (first + length)[:, None])
        episode[active] = np.repeat(rng.uniform(0.6, 1.8, n), 12).reshape(n, 12)[active]

        state = YearState(
            school_year,
            idx,
            level.copy(),
            school,
            self.repeating[idx].copy(),
            self.repeats[idx].copy(),
            entry,
            exit_,
            move_date,
            move_school,
            dropout,
            episode,
        )
        self._advance(idx, level, drops, move_mid, move_school, age)
        return state

    def _advance(
        self,
        idx: np.ndarray,
        level: np.ndarray,
        drops: np.ndarray,
        moved: np.ndarray,
        move_school: np.ndarray,
        age: np.ndarray,
    ) -> None:
        rng, p = self.rng, self.pupils
        self.school[idx[moved]] = move_school[moved]
        n = idx.size
        repeat_logit = (
            np.log(_REPEAT_BASE[level] / (1 - _REPEAT_BASE[level])) - 0.6 * p.ability[idx] + 0.3 * p.risk[idx]
        )
        repeat = (rng.random(n) < 1 / (1 + np.exp(-repeat_logit))) & ~drops
        nxt = _NEXT_LEVEL[level].copy()
        orient = nxt == -2
        score = p.ability[idx] + rng.normal(0, 0.3, n) - 0.2 * (age >= 15)
        nxt[orient] = np.where(score[orient] > -0.32, 4, np.where(score[orient] > -1.3, 9, 7))
        new_level = np.where(repeat, level, nxt)
        graduated = (new_level == -1) & ~drops
        self.done[idx[drops | graduated]] = True
        stay = ~(drops | graduated)
        changed_kind = stay & (_kind_of_level(np.maximum(new_level, 0)) != _kind_of_level(level))
        self.level[idx[stay]] = new_level[stay]
        self.school[idx[changed_kind]] = _pick_school(rng, self.schools, _kind_of_level(new_level[changed_kind]))
        self.repeating[idx] = repeat
        self.repeats[idx] += repeat.astype(np.int8)


def disengagement(state: YearState, pupils: Pupils, rng: np.random.Generator) -> np.ndarray:
    """Monthly disengagement (Sep..Aug) per enrolled pupil: who they are, episodes, dropout ramp."""
    n = state.pupil.size
    base = 0.55 * pupils.risk[state.pupil] + rng.normal(0, 0.3, n)
    months = _month_starts(state.school_year) + 14
    value = base[:, None] + state.episode
    has = ~np.isnat(state.dropout_date)
    lead = rng.integers(90, 300, n)
    amplitude = rng.uniform(1.2, 2.6, n)
    days_to_event = (state.dropout_date[:, None] - months[None, :]).astype("timedelta64[D]").astype(float)
    ramp = np.clip(1 - days_to_event / lead[:, None], 0, 1) ** 1.5
    value[has] += (amplitude[:, None] * ramp)[has]
    return value.astype(np.float32)
