"""The command line is thin: it lists its commands and turns contract errors into exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigie.cli import app


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "keygen", "pseudonymise", "validate"):
        assert command in result.output
        assert CliRunner().invoke(app, [command, "--help"]).exit_code == 0


def test_the_command_line_loads_no_heavy_package_before_a_command_runs() -> None:
    """'vigie --help' answers at once: each command imports what it needs when it runs."""
    import subprocess
    import sys

    heavy = ("mlflow", "lightgbm", "evidently", "sklearn", "duckdb", "fastapi", "pandas", "pyarrow", "shap", "ibis")
    probe = f"import sys, vigie.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()
    assert loaded == ""


def test_structural_error_exits_2_with_a_clear_message(tmp_path: Path, extract: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "required table 'pupils' missing" in result.output


def test_validate_writes_report_and_strict_fails_on_quarantine(tmp_path: Path, extract: Path) -> None:
    import shutil

    shutil.copytree(extract, tmp_path / "ex")
    with (tmp_path / "ex" / "grades.csv").open("a") as handle:
        handle.write("0000000000000000000a,2022-01-10,MATHS,25,20,1\n")
    out = tmp_path / "val"
    lenient = CliRunner().invoke(app, ["validate", str(tmp_path / "ex"), "--out", str(out)])
    assert lenient.exit_code == 0, lenient.output
    assert (out / "validation_report.json").exists() and (out / "quarantine" / "grades.csv").exists()
    strict = CliRunner().invoke(app, ["validate", str(tmp_path / "ex"), "--out", str(out), "--strict", "--json"])
    assert strict.exit_code == 1
    assert '"rows_quarantined": 1' in strict.output


def test_empty_table_file_exits_2_naming_the_file(tmp_path: Path, extract: Path) -> None:
    import shutil

    shutil.copytree(extract, tmp_path / "ex")
    (tmp_path / "ex" / "attendance.csv").write_bytes(b"")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "ex"), "--out", str(tmp_path / "val")])
    assert result.exit_code == 2, result.output
    assert "attendance.csv: the file is empty" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "/nonexistent/extract"], "neither a feature folder"),
        (["features", "--data", "/nonexistent", "--out", "/tmp/x", "--as-of", "2024-03-31"], "not a validated extract"),
        (["score", "--data", "x", "--as-of", "31/03/2024", "--out", "o"], "expected a date YYYY-MM-DD"),
        (["score", "--data", "x", "--as-of", "2024-03-31", "--out", "o", "--format", "xlsx"], "xlsx"),
        (["keygen", "{existing}"], "exists"),
        # a missing file said plainly, and its name verbatim, brackets included (not terminal markup)
        (["features", "--data", "x", "--out", "o", "--config", "/none/[/b].yaml"], "/none/[/b].yaml: no such file"),
    ],
)
def test_expected_failures_are_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "key").write_text("a key that must not be overwritten")
    result = CliRunner().invoke(app, [a.replace("{existing}", str(tmp_path / "key")) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)


def test_an_unexpected_failure_says_where_the_log_is_and_shows_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import features.ingest

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal fault")

    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(features.ingest, "validate_to_folder", broken)  # the command imports it as it runs
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 70, result.output
    log = tmp_path / "data" / "logs" / "vigie.log"
    assert "unexpected error (RuntimeError)" in result.output and str(log) in result.output.replace("\n", "")
    assert "Traceback" not in result.output
    assert "Traceback" in log.read_text(encoding="utf-8") and "internal fault" in log.read_text(encoding="utf-8")


def test_paths_are_printed_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bracket in a path the user chose is not terminal markup: '[/b]' once crashed the command."""
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "[/b]").mkdir(parents=True)
    key = tmp_path / "[/b]" / "demo.key"
    result = CliRunner().invoke(app, ["keygen", str(key)])
    assert result.exit_code == 0, result.output
    assert str(key) in result.output.replace("\n", "") and key.exists()


def test_commands_print_their_own_lines_not_the_libraries_info_logs(tmp_path: Path) -> None:
    """A command that migrates a new database prints its one line (on stderr, as every message):
    Alembic's and MLflow's INFO logs (any library's) stay out of the console unless --verbose."""
    import os
    import subprocess
    import sys

    # nothing inherited from other tests (mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "VIGIE_"))}
    env["VIGIE_DATA_DIR"] = str(tmp_path)
    vigie = str(Path(sys.executable).parent / "vigie")
    quiet = subprocess.run([vigie, "followup", "purge"], env=env, check=True, capture_output=True, text=True)
    assert quiet.stderr.strip().splitlines() == ["0 closed plans past retention deleted."]
    verbose = subprocess.run([vigie, "-v", "followup", "purge"], env=env, check=True, capture_output=True, text=True)
    assert "alembic" in verbose.stderr.lower()
    # MLflow, which sets up its own logger, too: a new tracking store says nothing before the error
    score = [vigie, "score", "--data", str(tmp_path), "--as-of", "2024-12-15", "--out", str(tmp_path / "scores")]
    unregistered = subprocess.run(score, env=env, capture_output=True, text=True, check=False)
    assert unregistered.returncode == 2 and "mlflow" not in unregistered.stderr.lower()
    assert "has no alias 'champion'" in unregistered.stderr


def test_bad_input_in_one_partition_validated_by_workers_is_the_users_bad_input(tmp_path: Path) -> None:
    """A worker process hands the partition's ContractError back through the executor's code: it
    stays the user's bad input (exit 2, the file named), not a fault of Vigie (exit 70)."""
    from features.synthetic import SynthConfig, synthesise_partitioned

    config = SynthConfig(pupils=300, seed=3, first_year=2023, last_year=2024, format="parquet")
    synthesise_partitioned(config, tmp_path / "raw", 2, jobs=1)
    key = tmp_path / "key"
    runner = CliRunner()
    assert runner.invoke(app, ["keygen", str(key)]).exit_code == 0
    assert (
        runner.invoke(
            app, ["pseudonymise", "--key-file", str(key), str(tmp_path / "raw"), str(tmp_path / "x")]
        ).exit_code
        == 0
    )
    empty = tmp_path / "x" / "departement=002" / "incidents.parquet"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["validate", str(tmp_path / "x"), "--jobs", "2", "--no-require-outcomes"])
    assert result.exit_code == 2, result.output
    assert "departement=002" in result.output and "the file is empty" in result.output
    assert "unexpected error" not in result.output


def test_a_library_error_inside_vigie_is_not_the_users_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``ValueError`` raised inside a library (Fairlearn's « degenerate labels » once) is a
    fault of Vigie: exit 70 and the log, never exit 2 as if the data were bad (issue 25)."""
    import json

    import features.ingest

    def library_fails(*args: object, **kwargs: object) -> None:
        json.loads("{")  # raises JSONDecodeError, a ValueError, from the standard library's code

    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(features.ingest, "validate_to_folder", library_fails)
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 70, result.output
    assert "unexpected error (JSONDecodeError)" in result.output
