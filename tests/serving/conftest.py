"""The risk service on a real model trained on the synthetic district, with two real score batches."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from fairness.config import FairnessConfig
from fairness.review import fold_audit_check
from features.ingest import load_key, pseudonym
from models.registry import use_tracking_store
from serving.api import Role, ServiceSettings, issue_token
from serving.app import create_app
from serving.batch import TierConfig, append_history, score_frame
from tests.support.postgres import PostgresServer, start_postgres
from training.config import TrainConfig
from training.tracking import log_training
from training.train import FeatureSet, TrainingResult

SECRET = "tests-only-secret-0123456789abcdef0123456789"


@dataclass(frozen=True)
class ServedDistrict:
    data_dir: Path
    tracking_uri: str
    key_file: Path
    own_school: str
    other_school: str
    own_pupil: str  # high tier, in own_school
    own_low_pupil: str  # low tier, in own_school
    other_pupil: str
    ine_of: dict[str, str]  # pupil_id -> INE, for the look-up
    names_dir: Path  # each school's correspondence file, written by the pseudonymisation


@pytest.fixture(scope="session")
def served_district(
    feature_set: FeatureSet, trained: TrainingResult, small_train_config: TrainConfig, long_features: Path,
    key_file: Path, tmp_path_factory: pytest.TempPathFactory,
) -> ServedDistrict:  # fmt: skip
    """Register the run's shared model as champion, score the last two dates into the score history.

    Registered once per worker, in a store of the worker's own: the monitoring tests write their
    verdicts into it, and the other worker's tests must not read a store that changes under them."""
    data_dir = tmp_path_factory.mktemp("served") / "data"
    result = trained
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        uri = use_tracking_store(data_dir)
        audit = fold_audit_check(  # as `vigie train --fairness-config`: the served champion has its audit
            feature_set.folder,
            FairnessConfig(n_boot=50, mitigation=False),
            data_hash=feature_set.metadata.input_hash,
            synthetic=True,
        )
        tracked = log_training(result, feature_set, small_train_config, data_dir=data_dir, fairness=audit)
    assert tracked.gate.promoted, tracked.gate.as_dict()
    frame = feature_set.frame
    dates = sorted(frame["as_of"].unique())[-2:]
    batch = None
    for day in dates:
        rows = frame[frame["as_of"] == day].reset_index(drop=True)
        batch = score_frame(rows, result.model, f"vigie-dropout/{tracked.version}", TierConfig())
        append_history(batch, data_dir / "score_history")
    assert batch is not None
    scores = batch.scores.to_pandas()
    sizes = scores["school_id"].value_counts()
    own, other = str(sizes.index[0]), str(sizes.index[1])
    mine = scores[scores["school_id"] == own]
    raw = pd.read_csv(long_features.parent / "raw" / "pupils.csv", dtype=str)
    key = load_key(key_file)
    ine_of = {pseudonym(key, ine): ine for ine in raw["ine"]}
    return ServedDistrict(
        data_dir,
        uri,
        key_file,
        own,
        other,
        str(mine.loc[mine["tier"] == "high", "pupil_id"].iloc[0]),
        str(mine.loc[mine["tier"] == "low", "pupil_id"].iloc[0]),
        str(scores.loc[scores["school_id"] == other, "pupil_id"].iloc[0]),
        ine_of,
        long_features.parent / "names",
    )


def service_settings(district: ServedDistrict, tmp: Path, **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "secret": SECRET,
        "pseudonym_key_file": district.key_file,
        "database_url": f"sqlite:///{tmp / 'access_log.db'}",
        **overrides,
    }
    return ServiceSettings.model_validate(values)


def token(settings: ServiceSettings, role: Role | str, schools: list[str] | None = None, ttl_hours: float = 1) -> str:
    return issue_token(
        settings, subject=f"test-{role}", role=Role(role), schools=schools or [], ttl=timedelta(hours=ttl_hours)
    )


@dataclass
class Service:
    client: TestClient
    settings: ServiceSettings
    district: ServedDistrict

    def headers(self, role: Role | str, schools: list[str] | None = None) -> dict[str, str]:
        if Role(role) is Role.STAFF and schools is None:
            schools = [self.district.own_school]
        return {"Authorization": f"Bearer {token(self.settings, role, schools)}"}


@pytest.fixture(autouse=True)
def _tracking_store(request: pytest.FixtureRequest) -> None:
    """Tests of this folder that use the served district read its MLflow store."""
    if "served_district" in request.fixturenames:
        district: ServedDistrict = request.getfixturevalue("served_district")
        mlflow.set_tracking_uri(district.tracking_uri)
        mlflow.set_registry_uri(district.tracking_uri)


@pytest.fixture(scope="module")
def service(served_district: ServedDistrict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One app for a module: SQLite access log, embedded tokens."""
    mlflow.set_tracking_uri(served_district.tracking_uri)
    mlflow.set_registry_uri(served_district.tracking_uri)
    settings = service_settings(served_district, tmp_path_factory.mktemp("service"))
    with TestClient(create_app(settings, served_district.data_dir), raise_server_exceptions=False) as client:
        yield Service(client, settings, served_district)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The service's database on SQLite, then on a real PostgreSQL server (the same tests on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.url


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server. If it cannot start, the tests that need it are skipped, saying
    why, on a developer's machine; in CI (``CI`` set) they fail, so a green run always means
    they ran."""
    folder = Path(tempfile.mkdtemp(prefix="vigie-pg-"))
    try:
        server = start_postgres(folder)
    except Exception as error:  # OSError, or a failed initdb or pg_ctl: say what it printed
        shutil.rmtree(folder, ignore_errors=True)
        message = f"PostgreSQL could not be started: {getattr(error, 'stderr', None) or error!r}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield server
    try:
        server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The browser tests' session fixtures, registered here once so that every browser test module shares one
# service and one Chromium (imported into each module, pytest would start one per module). Imported last:
# tests.serving.browser reads this module's helpers above.
from tests.serving.browser import browser, page, site  # noqa: E402, F401
