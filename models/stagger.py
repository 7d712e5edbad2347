"""The staggered start by school (stepped wedge): which schools open Vigie's pages in which school
year, drawn once from a seed and stored, so that ``vigie impact --design stagger`` can compare
schools that had started with schools not yet started in the same school year.

Optional and OFF by default: a trial the ethics committee must approve first. Whole schools only:
within a school that has started, every pupil's flag is shown; scores are computed for every
school (the comparison needs them). Its home is models/ because the CLI draws it, the service
honours it and the impact evaluation reads it. One rule, :meth:`StaggerDraw.started`, says whether
a school has started on a day; everything calls it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.school import school_year_of
from models.stored import parse_stored

log = logging.getLogger(__name__)

STAGGER_VERSION: Final = 1
#: Fewest waves a stepped wedge can have: one that starts first, one that waits a year.
MIN_WAVES: Final = 2


class StaggerSettings(BaseModel):
    """``[stagger]`` in ``vigie.toml`` (``VIGIE_STAGGER__*``): off unless the ethics committee approved a trial."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=False, description="The service honours the stored draw (pages closed until a "
                          "school's start year). Off: every school sees Vigie, as without a trial.")  # fmt: skip
    first_year: int | None = Field(
        default=None, description="School year of the trial's first wave (2025 = 2025-2026); empty: the newest draw."
    )
    waves: int = Field(default=3, ge=MIN_WAVES, le=6, description="School years until every school has started.")
    seed: int | None = Field(default=None, description="The draw's seed when 'vigie stagger draw' is given none.")


class StaggerDraw(BaseModel):
    """A stored draw: each school's start school year, with the seed, the date and who drew it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Literal[1] = STAGGER_VERSION
    first_year: int = Field(description="School year of the first wave (2025 = 2025-2026).")
    waves: int = Field(ge=MIN_WAVES)
    seed: int
    drawn_at: datetime
    drawn_by: str = Field(min_length=1)
    #: School (UAI) -> the school year it opens the pages, first_year .. first_year + waves - 1.
    schools: dict[str, int]

    @model_validator(mode="after")
    def _years_in_the_wedge(self) -> StaggerDraw:
        last = self.first_year + self.waves - 1
        outside = sorted(s for s, year in self.schools.items() if not self.first_year <= year <= last)
        if outside:
            raise ValueError(f"schools starting outside {self.first_year}..{last}: {outside[:5]}")
        return self

    @property
    def last_year(self) -> int:
        """The school year by which every school has started (the last wave)."""
        return self.first_year + self.waves - 1

    def start_year(self, school_id: str) -> int | None:
        """The school year the school opens the pages; None for a school outside the draw."""
        return self.schools.get(school_id)

    def started(self, school_id: str, day: date) -> bool:
        """Whether the school's pages are open on ``day``: its start year has come. A school outside
        the draw (opened since) is not part of the trial and is never closed."""
        start = self.start_year(school_id)
        return start is None or school_year_of(day) >= start

    def schools_by_year(self) -> dict[int, int]:
        """How many schools open in each school year of the wedge, first to last."""
        return {
            year: sum(1 for y in self.schools.values() if y == year)
            for year in range(self.first_year, self.last_year + 1)
        }

    def to_json(self) -> str:
        """The stored file's text."""
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False, sort_keys=False)


def draw_stagger(
    schools: list[str], *, first_year: int, waves: int, seed: int, drawn_by: str, drawn_at: datetime | None = None
) -> StaggerDraw:
    """Randomise whole schools to waves: a seeded permutation of the sorted school ids, cut into
    ``waves`` groups as equal as possible; wave i opens in ``first_year + i``. The same schools and
    seed give the same draw, whatever order the schools came in."""
    unique = sorted(set(schools))
    if len(unique) < waves:
        raise ValueError(f"{len(unique)} school(s) for {waves} waves: each wave needs at least one school")
    order = np.random.default_rng(seed).permutation(len(unique))
    start = {unique[i]: first_year + wave for wave, part in enumerate(np.array_split(order, waves)) for i in part}
    return StaggerDraw(
        first_year=first_year, waves=waves, seed=seed, drawn_at=drawn_at or datetime.now(UTC), drawn_by=drawn_by,
        schools=dict(sorted(start.items())),
    )  # fmt: skip


class DrawExistsError(ValueError):
    """A draw is stored for that year already: redrawing it would undo the randomisation."""


def store_draw(draw: StaggerDraw, path: Path, *, force: bool = False) -> Path:
    """Write the draw; a stored one is replaced only with ``force``, and that is logged (with both seeds)."""
    if path.exists():
        if not force:
            raise DrawExistsError(
                f"{path}: a draw for {draw.first_year} is stored already; redrawing would undo the randomisation "
                "(use --force only if the trial has not started, and say why in the ethics committee's file)"
            )
        previous = read_draw(path)
        log.warning("stagger draw for %s replaced (--force): seed %s by %s -> seed %s by %s", draw.first_year,
                    previous.seed, previous.drawn_by, draw.seed, draw.drawn_by)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(draw.to_json(), encoding="utf-8")
    log.info("stagger draw for %s stored: seed %s, %s schools, by %s", draw.first_year, draw.seed,
             len(draw.schools), draw.drawn_by)  # fmt: skip
    return path


def read_draw(path: Path) -> StaggerDraw:
    """A stored draw, checked: another version or invalid content is refused, naming the file."""
    values = json.loads(path.read_text(encoding="utf-8"))
    return parse_stored(
        StaggerDraw, values, version_key="version", version=STAGGER_VERSION, where=str(path),
        what="stagger draw", remedy="draw again with this Vigie ('vigie stagger draw')",
    )  # fmt: skip


def find_draw(folder: Path, first_year: int | None) -> StaggerDraw | None:
    """The draw of ``first_year`` (or the newest stored one when None); None when there is none."""
    if first_year is not None:
        path = draw_file(folder, first_year)
        return read_draw(path) if path.exists() else None
    stored = sorted(folder.glob("draw-*.json"))
    return read_draw(stored[-1]) if stored else None


def draw_file(folder: Path, first_year: int) -> Path:
    """Where the draw of a trial starting in ``first_year`` is kept."""
    return folder / f"draw-{first_year}.json"
