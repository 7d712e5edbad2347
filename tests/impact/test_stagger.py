"""The staggered start (issue 28, optional, off by default): the seeded draw of whole schools, stored
and never silently redrawn; and ``vigie impact --design stagger`` on synthetic worlds with a KNOWN
school-level effect: the interval holds it, a null world holds zero, a world too small says so."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from impact import Run, rd_sample, read_impact
from impact.report import write_report
from impact.simulate import StaggerWorld, WorldSpec, simulate_stagger_world
from impact.stagger import evaluate_stagger, stagger_sample
from models.impact_result import ImpactResult
from models.paths import Paths
from models.stagger import DrawExistsError, draw_file, draw_stagger, read_draw, store_draw
from vigie.cli import app
from vigie.settings import VigieSettings

DATES = (date(2023, 1, 16), date(2024, 1, 15), date(2025, 1, 13))  # school years 2022, 2023, 2024: three waves


def _world(prevented_share: float, *, pupils: int = 12_000, schools: int = 60, seed: int = 5) -> StaggerWorld:
    spec = WorldSpec(pupils_per_batch=pupils, schools=schools, batch_dates=DATES, seed=seed)
    return simulate_stagger_world(spec, prevented_share=prevented_share, draw_seed=seed)


def _evaluate(world: StaggerWorld) -> tuple[ImpactResult, pd.DataFrame]:
    sample = rd_sample(world.batches, pd.DataFrame(columns=["pupil_id", "start_date"]), world.outcomes)
    point = world.batches[0].point
    run = Run("vigie-dropout/1", point, DATES[0], DATES[-1], list(DATES), 60)
    return evaluate_stagger(sample, world.draw, run), sample


@pytest.fixture(scope="module")
def effective() -> tuple[StaggerWorld, ImpactResult, pd.DataFrame]:
    """Opening Vigie in a school prevents 40 % of its pupils' dropouts."""
    world = _world(0.4)
    result, sample = _evaluate(world)
    return world, result, sample


def test_the_draw_is_reproducible_from_its_seed_and_every_school_starts_by_the_last_wave() -> None:
    schools = [f"S{i}" for i in range(10)]
    when = datetime(2026, 12, 7, tzinfo=UTC)
    first = draw_stagger(schools, first_year=2025, waves=3, seed=7, drawn_by="dpo", drawn_at=when)
    shuffled = [*reversed(schools), "S3"]
    again = draw_stagger(shuffled, first_year=2025, waves=3, seed=7, drawn_by="dpo", drawn_at=when)
    assert first == again  # the same schools and seed, whatever their order: the same draw
    other = draw_stagger(schools, first_year=2025, waves=3, seed=8, drawn_by="dpo", drawn_at=when)
    assert other.schools != first.schools
    sizes = pd.Series(first.schools).value_counts().sort_index()
    assert sizes.index.tolist() == [2025, 2026, 2027] and sizes.tolist() == [4, 3, 3]  # waves as equal as possible
    assert all(first.started(s, date(2028, 2, 1)) for s in schools)  # stepped wedge: everyone by the last wave
    late = next(s for s, y in first.schools.items() if y == 2027)
    assert not first.started(late, date(2026, 6, 30)) and first.started(late, date(2027, 9, 1))
    assert first.started("S-NEW", date(2025, 10, 1))  # a school outside the draw is never closed
    with pytest.raises(ValueError, match="each wave needs at least one school"):
        draw_stagger(["S1", "S2"], first_year=2025, waves=3, seed=1, drawn_by="dpo")


def test_the_draw_is_stored_and_a_stored_year_is_redrawn_only_with_force(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = draw_file(tmp_path, 2025)
    drawn = draw_stagger(["S1", "S2", "S3"], first_year=2025, waves=2, seed=1, drawn_by="dpo")
    store_draw(drawn, path)
    assert read_draw(path) == drawn
    with pytest.raises(DrawExistsError, match="redrawing would undo the randomisation"):
        store_draw(draw_stagger(["S1", "S2", "S3"], first_year=2025, waves=2, seed=2, drawn_by="x"), path)
    assert read_draw(path).seed == 1
    with caplog.at_level(logging.WARNING, logger="models.stagger"):
        store_draw(draw_stagger(["S1", "S2", "S3"], first_year=2025, waves=2, seed=2, drawn_by="x"), path, force=True)
    assert read_draw(path).seed == 2 and "replaced (--force): seed 1 by dpo -> seed 2 by x" in caplog.text


def test_vigie_stagger_draw(tmp_path: Path) -> None:
    extract = tmp_path / "validated"
    extract.mkdir()
    schools = [f"{i:07d}{'ABCDEFGHJKLMNPRSTUVWXYZ'[i % 23]}" for i in range(1, 13)]
    pd.DataFrame({"pupil_id": [f"p{i}" for i in range(24)], "school_id": schools * 2}).to_csv(
        extract / "enrolments.csv", index=False
    )
    env = {"VIGIE_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    command = ["stagger", "draw", "--data", str(extract), "--year", "2025"]
    no_seed = runner.invoke(app, command, env=env)
    assert no_seed.exit_code != 0 and "no seed" in no_seed.output
    done = runner.invoke(app, [*command, "--seed", "11", "--by", "comité-éthique"], env=env)
    assert done.exit_code == 0, done.output
    assert "2027-2028 : 4 établissement(s)" in done.output and "stagger.enabled est faux" in done.output
    stored_path = Paths(tmp_path / "data").stagger / "draw-2025.json"
    stored = json.loads(stored_path.read_text(encoding="utf-8"))
    assert stored["version"] == 1 and stored["seed"] == 11 and stored["drawn_by"] == "comité-éthique"
    assert stored["drawn_at"] and sorted(stored["schools"]) == sorted(schools)
    drawn_at = read_draw(stored_path).drawn_at
    same = draw_stagger(schools, first_year=2025, waves=3, seed=11, drawn_by="comité-éthique", drawn_at=drawn_at)
    assert read_draw(stored_path) == same  # reproducible from the stored seed
    again = runner.invoke(app, [*command, "--seed", "12"], env=env)
    assert again.exit_code != 0 and "is stored already" in again.output
    assert json.loads(stored_path.read_text(encoding="utf-8"))["seed"] == 11
    forced = runner.invoke(app, [*command, "--seed", "12", "--force"], env=env)
    assert forced.exit_code == 0 and json.loads(stored_path.read_text(encoding="utf-8"))["seed"] == 12


def test_off_by_default() -> None:
    settings = VigieSettings()
    assert settings.stagger.enabled is False and settings.stagger.first_year is None


def test_the_interval_holds_the_true_school_level_effect(
    effective: tuple[StaggerWorld, ImpactResult, pd.DataFrame],
) -> None:
    world, result, _ = effective
    found = result.get("stagger_dropout", None)
    assert found.ci_low is not None and found.ci_high is not None
    assert found.ci_low <= world.truth <= found.ci_high, (found, world.truth)
    assert world.truth < -0.03  # a real effect, and it is seen and said descriptively
    assert result.verdict.code == "effect" and "plus bas" in result.verdict.text
    assert "pas l'effet d'une action" in result.verdict.text
    assert result.design == "stagger" and found.cut is None and found.clusters == 60 and found.mde is not None
    # Only the school years with both sides are compared: the last wave's year has no school left to compare with.
    assert result.stagger is not None and result.stagger.school_years == [2022, 2023]
    assert found.n_left + found.n_right == result.rows == 24_000
    randomisation = next(c for c in result.checks if c.name == "randomisation")
    assert randomisation.p_value is not None and randomisation.p_value < 0.05 and randomisation.passed
    balance = [c for c in result.checks if c.name == "balance"]
    assert len(balance) == 2 and all(c.passed is not None for c in balance)


def test_a_world_where_opening_vigie_does_nothing_holds_zero() -> None:
    result, _ = _evaluate(_world(0.0, seed=6))
    found = result.get("stagger_dropout", None)
    assert found.ci_low is not None and found.ci_high is not None and found.ci_low <= 0 <= found.ci_high
    assert result.verdict.code != "effect"
    randomisation = next(c for c in result.checks if c.name == "randomisation")
    assert randomisation.p_value is not None and randomisation.p_value > 0.05


def test_a_world_too_small_says_so() -> None:
    result, _ = _evaluate(_world(0.4, pupils=600, schools=6, seed=7))
    assert result.verdict.code == "too_small"
    assert result.verdict.text.startswith("Échantillon trop petit pour conclure")


def test_schools_outside_the_draw_are_left_out_and_counted(
    effective: tuple[StaggerWorld, ImpactResult, pd.DataFrame],
) -> None:
    world, _, sample = effective
    draw = world.draw.model_copy(update={"schools": {k: v for k, v in world.draw.schools.items() if k != "S0"}})
    arms = stagger_sample(sample, draw)
    assert arms.outside_draw == int((sample["school_id"] == "S0").sum()) > 0
    assert "S0" not in set(arms.rows["school_id"])


def test_impact_json_and_the_french_report(
    effective: tuple[StaggerWorld, ImpactResult, pd.DataFrame], tmp_path: Path
) -> None:
    _, result, sample = effective
    html, stored = write_report(result, sample, tmp_path)
    values = json.loads(stored.read_text(encoding="utf-8"))
    assert values["design"] == "stagger" and values["verdict_by_cut"] == {}
    (estimate,) = values["estimates"]
    assert estimate["name"] == "stagger_dropout" and estimate["cut"] is None and -1 < estimate["estimate"] < 0
    assert values["stagger"]["seed"] == result.stagger.seed  # type: ignore[union-attr]
    assert read_impact(stored) == result
    page = html.read_text(encoding="utf-8")
    assert "Ce que ce résultat ne montre pas" in page and "comité d'éthique" in page
    assert "aucun élève n'est écarté des listes" in page and result.verdict.text.split(" : ")[0] in page
    assert "p0-" not in page  # no pupil identifier in the report


def test_vigie_impact_design_stagger_needs_a_stored_draw(tmp_path: Path) -> None:
    env = {"VIGIE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "400"}  # the error box, unwrapped
    base = ["impact", "--data", str(tmp_path), "--from", "2023-01-01", "--to", "2024-01-01", "--design", "stagger"]
    runner = CliRunner()
    missing = runner.invoke(app, base, env=env)
    assert missing.exit_code != 0 and "no staggered-start draw stored" in missing.output
    every = runner.invoke(app, [*base, "--all-batches"], env=env)
    assert every.exit_code != 0 and "drop --all-batches" in every.output
