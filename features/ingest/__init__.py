"""From an export to a validated, pseudonymised extract in the contract's form.

The contract as data (:mod:`~features.ingest.contract`), reading CSV and Parquet exports as
they really come, parsing and rule checks (Ibis expressions run inside DuckDB, or Spark), quarantine with
file, row and column, pseudonymisation with a secret key, the school calendar, and partitioned (national) extracts
streamed one partition at a time.
"""

from typing import TYPE_CHECKING, Any

from features.ingest import contract
from features.ingest.calendar import french_holidays, school_days, year_bounds
from features.ingest.contract import (
    GRADE_LEVELS,
    IDENTIFYING_COLUMNS,
    LYCEE_PRO_LEVELS,
    PSEUDONYM_PATTERN,
    SENSITIVE_ATTRIBUTES,
    TABLES,
    UAI_PATTERN,
    TableSpec,
)
from features.ingest.extract import ContractError, find_table, read_table, write_table
from features.ingest.parsing import ARROW_TYPES
from features.ingest.partitions import PARTITION_KEY, find_partitions, map_in_workers, partition_name
from features.ingest.pseudonymise import (
    CORRESPONDENCE_COLUMNS,
    KeyFileError,
    PseudonymisationReport,
    correspondence_file,
    generate_key,
    load_key,
    pseudonym,
    pseudonymise_extract,
)
from features.ingest.spark import Engine, concatenate_parts, spark_session

if TYPE_CHECKING:
    from features.ingest.validation import (
        EngineLimits,
        ValidatedExtract,
        ValidationReport,
        render_report,
        validate_extract,
        validate_to_folder,
        write_validated,
    )

#: Validation's names load on first use: its rules need pandera, whose import (0.3 s, pyspark's
#: pandas API included) the stages that never validate (features, scoring, training, the
#: service, monitoring) should not pay.
_VALIDATION_NAMES = frozenset(
    {
        "EngineLimits",
        "ValidatedExtract",
        "ValidationReport",
        "render_report",
        "validate_extract",
        "validate_to_folder",
        "write_validated",
    }
)


def __getattr__(name: str) -> Any:
    if name in _VALIDATION_NAMES:
        from features.ingest import validation

        return getattr(validation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ARROW_TYPES",
    "CORRESPONDENCE_COLUMNS",
    "GRADE_LEVELS",
    "IDENTIFYING_COLUMNS",
    "LYCEE_PRO_LEVELS",
    "PARTITION_KEY",
    "PSEUDONYM_PATTERN",
    "SENSITIVE_ATTRIBUTES",
    "TABLES",
    "UAI_PATTERN",
    "ContractError",
    "Engine",
    "EngineLimits",
    "KeyFileError",
    "PseudonymisationReport",
    "TableSpec",
    "ValidatedExtract",
    "ValidationReport",
    "concatenate_parts",
    "contract",
    "correspondence_file",
    "find_partitions",
    "find_table",
    "french_holidays",
    "generate_key",
    "load_key",
    "map_in_workers",
    "partition_name",
    "pseudonym",
    "pseudonymise_extract",
    "read_table",
    "render_report",
    "school_days",
    "spark_session",
    "validate_extract",
    "validate_to_folder",
    "write_table",
    "write_validated",
    "year_bounds",
]
