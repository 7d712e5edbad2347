"""The command line is thin: it lists its commands and turns contract errors into exit code 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vigie.cli import app


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "keygen", "pseudonymise", "validate"):
        assert command in result.output
        assert CliRunner().invoke(app, [command, "--help"]).exit_code == 0


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
