"""The staggered start in the service (issue 28, off by default): staff of a school whose start year
has not come see a French notice instead of their lists and pupils (403 on the API, traced); the reach
rule still comes first (404 outside one's schools); started schools see every pupil; off changes nothing."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.school import school_year_of
from models.paths import Paths
from models.stagger import StaggerDraw, StaggerSettings, draw_file, store_draw
from serving.app import create_app
from tests.serving.conftest import ServedDistrict, service_settings, token


@pytest.fixture(scope="module")
def trial(served_district: ServedDistrict, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A copy of the served data folder with a stored draw: the own school opens the year after the served
    batch's, the other school has started."""
    data = tmp_path_factory.mktemp("stagger") / "data"
    shutil.copytree(served_district.data_dir / "score_history", data / "score_history")
    served_day = max(date.fromisoformat(p.name.removeprefix("as_of=")) for p in (data / "score_history").iterdir())
    year = school_year_of(served_day)
    draw = StaggerDraw(first_year=year, waves=2, seed=3, drawn_at=datetime(2026, 1, 1, tzinfo=UTC), drawn_by="test",
                       schools={served_district.own_school: year + 1, served_district.other_school: year})  # fmt: skip
    store_draw(draw, draw_file(Paths(data).stagger, year))
    return data, year


def _client(district: ServedDistrict, data: Path, tmp: Path, stagger: StaggerSettings) -> TestClient:
    settings = service_settings(district, tmp)
    return TestClient(create_app(settings, data, stagger=stagger), raise_server_exceptions=False)


@dataclass(frozen=True)
class Gated:
    client: TestClient
    tmp: Path  # the settings' folder: tokens are signed with them


@pytest.fixture(scope="module")
def gated(
    served_district: ServedDistrict, trial: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gated]:
    tmp = tmp_path_factory.mktemp("gated")
    with _client(served_district, trial[0], tmp, StaggerSettings(enabled=True)) as client:
        yield Gated(client, tmp)


def _bearer(district: ServedDistrict, school: str, tmp: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(service_settings(district, tmp), 'staff', [school])}"}


def _refusals(gated: Gated, school_id: str) -> int:
    """The 403 entries of the access log for the school so far (the tests of this module run in any order)."""
    log = gated.client.app.state.access_log  # type: ignore[attr-defined]
    every = log.entries(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    return sum(1 for e in every if e.status == 403 and e.school_id == school_id)


def test_a_school_not_yet_started_gets_the_notice_on_the_api(
    gated: Gated, served_district: ServedDistrict, trial: tuple[Path, int]
) -> None:
    tmp = gated.tmp
    own = _bearer(served_district, served_district.own_school, tmp)
    before = _refusals(gated, served_district.own_school)
    for path in (
        f"/api/v1/schools/{served_district.own_school}/pupils",
        f"/api/v1/schools/{served_district.own_school}/pupils/export",
        f"/api/v1/schools/{served_district.own_school}/plans",
        f"/api/v1/pupils/{served_district.own_pupil}",
        f"/api/v1/pupils/{served_district.own_pupil}/explanation",
        f"/api/v1/pupils/{served_district.own_pupil}/plans",
    ):
        answer = gated.client.get(path, headers=own)
        assert answer.status_code == 403, (path, answer.text)
        body = answer.json()
        assert body["start_year"] == trial[1] + 1 and body["school_id"] == served_district.own_school
        assert body["detail"].startswith("Vigie ouvrira dans votre établissement à la rentrée de septembre")
        assert "risk" not in answer.text and served_district.own_pupil not in answer.text
    assert _refusals(gated, served_district.own_school) == before + 6  # each traced, as any read of a school or pupil
    # The reach rule first: another school's pupil is not found, exactly as without a trial.
    elsewhere = gated.client.get(f"/api/v1/pupils/{served_district.own_pupil}",
                          headers=_bearer(served_district, served_district.other_school, tmp))  # fmt: skip
    assert elsewhere.status_code == 404


def test_a_started_school_sees_every_pupil(gated: Gated, served_district: ServedDistrict, tmp_path: Path) -> None:
    tmp = gated.tmp
    other = _bearer(served_district, served_district.other_school, tmp)
    listed = gated.client.get(f"/api/v1/schools/{served_district.other_school}/pupils?page_size=1000", headers=other)
    assert listed.status_code == 200
    with _client(served_district, served_district.data_dir, tmp_path, StaggerSettings()) as plain:
        reference = plain.get(
            f"/api/v1/schools/{served_district.other_school}/pupils?page_size=1000",
            headers=_bearer(served_district, served_district.other_school, tmp_path),
        )
    assert listed.json() == reference.json()  # whole schools only: no pupil's flag withheld in a started school


def test_a_school_not_yet_started_sees_the_french_notice_page(
    gated: Gated, served_district: ServedDistrict, trial: tuple[Path, int]
) -> None:
    tmp = gated.tmp
    gated.client.cookies.clear()
    form = gated.client.get("/")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', form.text).group(1)  # type: ignore[union-attr]
    signed = token(service_settings(served_district, tmp), "staff", [served_district.own_school])
    assert (
        gated.client.post("/connexion", data={"token": signed, "csrf": csrf}, follow_redirects=False).status_code == 303
    )
    for path in (f"/ecoles/{served_district.own_school}", f"/eleves/{served_district.own_pupil}"):
        page = gated.client.get(path)
        assert page.status_code == 403 and "data-not-started-notice" in page.text, path
        assert "Vigie n'est pas encore ouvert dans votre établissement" in page.text
        assert f"septembre {trial[1] + 1}" in page.text and "aucun élève n'est écarté des listes" in page.text
        assert served_district.own_pupil not in page.text


def test_off_by_default_changes_nothing(
    served_district: ServedDistrict, trial: tuple[Path, int], tmp_path: Path
) -> None:
    """A draw is stored, but the setting is off: the not-yet-started school sees its pupils."""
    data, _ = trial
    assert StaggerSettings().enabled is False
    with _client(served_district, data, tmp_path, StaggerSettings()) as client:
        own = _bearer(served_district, served_district.own_school, tmp_path)
        assert client.get(f"/api/v1/schools/{served_district.own_school}/pupils", headers=own).status_code == 200
        assert client.get(f"/api/v1/pupils/{served_district.own_pupil}", headers=own).status_code == 200


def test_on_without_a_stored_draw_refuses_to_start(served_district: ServedDistrict, tmp_path: Path) -> None:
    settings = service_settings(served_district, tmp_path)
    with pytest.raises(ValueError, match="no draw is stored"):
        create_app(settings, tmp_path / "empty", stagger=StaggerSettings(enabled=True, first_year=2030))


def test_the_stop_switch_comes_before_the_staggered_start(gated: Gated, served_district: ServedDistrict) -> None:
    """Both can stand together: a school suspended by an admin (issue 26) reads the suspension, whatever the
    draw; lifted, the not-yet-started school reads the staggered start's notice again."""
    tmp, client = gated.tmp, gated.client
    own = served_district.own_school
    admin = {"Authorization": f"Bearer {token(service_settings(served_district, tmp), 'admin')}"}
    staff = _bearer(served_district, own, tmp)
    suspended = client.post("/api/v1/admin/suspensions", json={"school_id": own, "reason": "anomalie_donnees"},
                            headers=admin)  # fmt: skip
    assert suspended.status_code == 201, suspended.text
    try:
        answer = client.get(f"/api/v1/schools/{own}/pupils", headers=staff)
        assert answer.status_code == 503 and answer.json()["reason"] == "anomalie_donnees"
    finally:
        lifted = client.post("/api/v1/admin/suspensions/lift", json={"school_id": own}, headers=admin)
        assert lifted.status_code == 200
    assert client.get(f"/api/v1/schools/{own}/pupils", headers=staff).status_code == 403
