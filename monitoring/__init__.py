"""Monitoring: drift of the model's inputs and risk (Evidently), per school and per audit group,
performance once outcomes are known, and alerts a scheduler can act on."""

from monitoring.alerts import Alert
from monitoring.config import MonitoringConfig, load_monitoring_config
from monitoring.monitor import MonitoringResult, ScoredBatch, Snapshots, compare, summary
from monitoring.monitor import monitor as monitor_extract
from monitoring.report import append_history as append_monitoring_history
from monitoring.report import log_to_mlflow as log_monitoring
from monitoring.report import write_outputs as write_monitoring

__all__ = [
    "Alert",
    "MonitoringConfig",
    "MonitoringResult",
    "ScoredBatch",
    "Snapshots",
    "append_monitoring_history",
    "compare",
    "load_monitoring_config",
    "log_monitoring",
    "monitor_extract",
    "summary",
    "write_monitoring",
]
