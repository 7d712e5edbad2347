"""Issue 26 from the command line: the data protection officer's ``vigie objection`` (by pseudonym
or INE, never echoed), the administrator's ``vigie suspension``, and the stages that honour the
register: the next ``vigie score`` and training leave objected pupils out, and take them back
after withdrawal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from models.objections import Objections, read_objections
from tests.serving.conftest import ServedDistrict
from training.config import TrainConfig
from training.train import load_feature_set
from vigie.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture
def own_data(served_district: ServedDistrict, tmp_path: Path) -> dict[str, str]:
    """A private copy of the served district's data folder (champion, score history), so that
    scoring here leaves the shared one alone; the environment ``vigie`` runs with."""
    data = tmp_path / "data"
    shutil.copytree(served_district.data_dir, data, ignore=shutil.ignore_patterns("service", "monitoring"))
    return {
        "VIGIE_DATA_DIR": str(data),
        "MLFLOW_TRACKING_URI": f"sqlite:///{data / 'mlflow' / 'mlflow.db'}",
        "VIGIE_SERVICE__PSEUDONYM_KEY_FILE": str(served_district.key_file),
    }


def _vigie(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_objection_cli_and_the_next_score(served_district: ServedDistrict, own_data: dict[str, str]) -> None:
    district, env = served_district, own_data
    pupil = district.own_pupil
    ine = district.ine_of[pupil]
    validated = district.names_dir.parent / "validated"
    day = "2024-04-30"

    def scored() -> tuple[set[str], str]:
        code, output = _vigie(env, "score", "--data", str(validated), "--as-of", day, "--out", env["VIGIE_DATA_DIR"])
        assert code == 0, output
        table = pq.read_table(Path(env["VIGIE_DATA_DIR"]) / f"scores_{day}.parquet", columns=["pupil_id"])
        return set(table.column("pupil_id").to_pylist()), output

    before, _ = scored()
    assert pupil in before
    code, output = _vigie(env, "objection", "add", "--ine", ine, "--by", "dpo@academie")
    assert code == 0, output
    assert pupil in output and ine not in output  # the INE is pseudonymised in memory, never shown
    code, output = _vigie(env, "objection", "add", "--pupil", pupil)
    assert code == 2 and "stands already" in output
    assert _vigie(env, "objection", "add", "--pupil", pupil, "--ine", ine)[0] == 2
    assert _vigie(env, "objection", "add", "--pupil", "not-a-pseudonym")[0] == 2
    database = f"sqlite:///{Path(env['VIGIE_DATA_DIR']) / 'service' / 'access_log.db'}"
    assert read_objections(database).pupils == {pupil}

    after, output = scored()
    assert after == before - {pupil}
    assert "1 left out: they objected (GDPR art. 21" in output
    history = Path(env["VIGIE_DATA_DIR"]) / "score_history" / f"as_of={day}"
    kept = {
        p for f in history.glob("*.parquet") for p in pq.read_table(f, columns=["pupil_id"])["pupil_id"].to_pylist()
    }
    inputs = {p for f in (history / "inputs").glob("*.parquet") for p in pd.read_parquet(f)["pupil_id"]}
    assert pupil not in kept and pupil not in inputs

    code, listed = _vigie(env, "objection", "list")
    assert code == 0 and listed.splitlines()[0] == "pupil_id,recorded_at,recorded_by,withdrawn_at,withdrawn_by"
    assert f"{pupil}," in listed and "dpo@academie" in listed
    code, output = _vigie(env, "objection", "withdraw", "--pupil", pupil, "--by", "dpo@academie")
    assert code == 0, output
    assert _vigie(env, "objection", "withdraw", "--pupil", pupil)[0] == 2  # none stands any more
    assert _vigie(env, "objection", "list", "--standing")[1].strip().count("\n") == 0
    again, _ = scored()
    assert again == before


def test_suspension_cli(own_data: dict[str, str], served_district: ServedDistrict) -> None:
    env, school = own_data, served_district.own_school
    code, output = _vigie(
        env, "suspension", "add", "--school", school, "--reason", "anomalie_donnees", "--by", "rectorat"
    )
    assert code == 0 and f"Vigie est suspendu pour l'établissement {school}" in output, output
    assert _vigie(env, "suspension", "add", "--school", school, "--reason", "autre")[0] == 2  # already
    assert _vigie(env, "suspension", "add", "--everywhere", "--reason", "pas_une_raison")[0] == 2
    assert _vigie(env, "suspension", "add", "--school", school, "--everywhere", "--reason", "autre")[0] == 2
    code, output = _vigie(env, "suspension", "add", "--everywhere", "--reason", "incident_securite")
    assert code == 0 and "pour tous les établissements" in output
    assert _vigie(env, "suspension", "lift", "--everywhere")[0] == 0
    assert _vigie(env, "suspension", "lift", "--school", school, "--by", "rectorat")[0] == 0
    assert _vigie(env, "suspension", "lift", "--school", school)[0] == 2
    code, listed = _vigie(env, "suspension", "list")
    rows = [line.split(",") for line in listed.splitlines()[1:]]
    assert [(r[0], r[1], r[3], r[5]) for r in rows] == [
        (school, "anomalie_donnees", "rectorat", "rectorat"),
        ("*", "incident_securite", rows[1][3], rows[1][3]),
    ]


def test_training_leaves_objected_pupils_out(
    long_features: Path, small_train_config: TrainConfig, tmp_path: Path
) -> None:
    whole = load_feature_set(long_features, small_train_config, tmp_path)
    some = whole.frame["pupil_id"].drop_duplicates().head(30)
    honoured = load_feature_set(long_features, small_train_config, tmp_path, objections=Objections.of(some))
    assert not honoured.frame["pupil_id"].isin(some).any()
    assert honoured.left_out == int(whole.frame["pupil_id"].isin(some).sum()) > 0
    assert len(honoured.frame) + honoured.left_out == len(whole.frame)  # the counts reconcile
