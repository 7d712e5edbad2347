"""Every location under the data folder, named once: the MLflow store, the score history, the
service's database, the logs, the model cards, the reports and the work folders of each stage.

The CLI, the service, training, audits and monitoring all build their paths from :class:`Paths`
(``models`` is what every one of them may import; ``features`` is handed its folders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """The layout of a data folder (``VIGIE_DATA_DIR``, ``data/`` by default)."""

    data_dir: Path

    @property
    def mlflow(self) -> Path:
        """The local MLflow store: ``mlflow.db`` and ``artifacts/``."""
        return self.data_dir / "mlflow"

    @property
    def score_history(self) -> Path:
        """Every scored batch, ``as_of=D/model_version=V.parquet``, with its inputs and metadata."""
        return self.data_dir / "score_history"

    @property
    def service_database(self) -> Path:
        """The service's SQLite database (access log, follow-up plans) unless a URL is configured."""
        return self.data_dir / "service" / "access_log.db"

    @property
    def log_file(self) -> Path:
        """The application log (pseudonymised identifiers only)."""
        return self.data_dir / "logs" / "vigie.log"

    def model_cards(self, name: str, version: str) -> Path:
        """The model card (and the training's fairness report) of a version or run."""
        return self.data_dir / "model_cards" / f"{name}-v{version}"

    def fairness_report(self, name: str, version: str, as_of: date) -> Path:
        """The folder of the fairness audit of a model version at one as-of date."""
        return self.data_dir / "fairness" / f"{name}-v{version}-{as_of.isoformat()}"

    @property
    def monitoring(self) -> Path:
        """Monitoring reports (``as_of=D/``) and the history of verdicts."""
        return self.data_dir / "monitoring"

    def monitoring_report(self, as_of: date) -> Path:
        """The folder of the monitoring report of the batch scored at ``as_of``."""
        return self.monitoring / f"as_of={as_of.isoformat()}"

    @property
    def followup(self) -> Path:
        """Follow-up reports for school staff."""
        return self.data_dir / "followup"

    @property
    def impact(self) -> Path:
        """The last impact evaluation (``vigie impact``): ``impact.json`` and its French report."""
        return self.data_dir / "impact"

    @property
    def stagger(self) -> Path:
        """The staggered start's stored draws, ``draw-YYYY.json`` (models/stagger.py); none unless a trial."""
        return self.data_dir / "stagger"

    @property
    def feature_cache(self) -> Path:
        """Features training builds from a validated extract, keyed on config and extract."""
        return self.data_dir / "features"

    def scoring_features(self, as_of: date) -> Path:
        """The model inputs scoring builds at ``as_of``."""
        return self.data_dir / "scoring" / f"features-{as_of.isoformat()}"

    def audit_features(self, as_of: date) -> Path:
        """The labelled snapshots an audit builds at ``as_of``."""
        return self.data_dir / "audits" / f"features-{as_of.isoformat()}"
