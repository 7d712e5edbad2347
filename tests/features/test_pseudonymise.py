"""The contract's pseudonym formula, the key's handling, and no identifier anywhere downstream."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from features.ingest import ContractError, KeyFileError, generate_key, pseudonym, pseudonymise_extract
from vigie.cli import app

TEST_KEY = b"vigie-test-vector-key-2026"


def test_formula_matches_fixed_test_vectors() -> None:
    assert pseudonym(TEST_KEY, "1234567890A") == "ddd16a94ab9ff177670c"
    assert pseudonym(TEST_KEY, "0987654321Z") == "9175f639163e7287e61b"


def test_ine_is_stripped_and_upper_cased() -> None:
    assert pseudonym(TEST_KEY, "  1234567890a\n") == "ddd16a94ab9ff177670c"


def test_key_file_white_space_is_stripped(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    pd.DataFrame({"ine": ["1234567890A"], "birth_date": ["2008-03-14"], "sex": ["F"]}).to_csv(
        tmp_path / "raw" / "pupils.csv", index=False
    )
    key = tmp_path / "keys" / "k"
    key.parent.mkdir()
    key.write_bytes(b"\n  " + TEST_KEY + b" \r\n")
    pseudonymise_extract(tmp_path / "raw", tmp_path / "out", key_file=key)
    out = pd.read_csv(tmp_path / "out" / "pupils.csv", dtype=str)
    assert out.to_dict("records") == [{"pupil_id": "ddd16a94ab9ff177670c", "birth_month": "2008-03", "sex": "F"}]


def test_keygen_writes_a_private_key_and_never_overwrites(tmp_path: Path) -> None:
    path = generate_key(tmp_path / "k.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_key(path)
    assert generate_key(tmp_path / "other.key").read_text() != path.read_text()


def test_refuses_without_a_key_or_with_a_key_beside_the_data(raw_extract: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="key file not found"):
        pseudonymise_extract(raw_extract, tmp_path / "out", key_file=tmp_path / "missing.key")
    inside = tmp_path / "out" / "k.key"
    inside.parent.mkdir()
    inside.write_bytes(TEST_KEY)
    with pytest.raises(KeyFileError, match="beside the data"):
        pseudonymise_extract(raw_extract, tmp_path / "out", key_file=inside)
    result = CliRunner().invoke(app, ["pseudonymise", str(raw_extract), str(tmp_path / "o2")])
    assert result.exit_code != 0 and "--key-file" in result.output


def test_deterministic_for_a_key_and_different_across_keys(raw_extract: Path, key_file: Path, tmp_path: Path) -> None:
    pseudonymise_extract(raw_extract, tmp_path / "a", key_file=key_file)
    pseudonymise_extract(raw_extract, tmp_path / "b", key_file=key_file)
    other = generate_key(tmp_path / "keys" / "other.key")
    pseudonymise_extract(raw_extract, tmp_path / "c", key_file=other)
    for table in ("pupils", "attendance", "outcomes"):
        a, b, c = (pd.read_csv(tmp_path / d / f"{table}.csv", dtype=str) for d in "abc")
        pd.testing.assert_frame_equal(a, b)
        assert not set(a["pupil_id"]) & set(c["pupil_id"])


def test_names_dropped_and_birth_date_cut_to_month(raw_extract: Path, extract: Path) -> None:
    raw = pd.read_csv(raw_extract / "pupils.csv", dtype=str)
    out = pd.read_csv(extract / "pupils.csv", dtype=str)
    assert list(out.columns) == ["pupil_id", "birth_month", "sex"]
    assert (out["birth_month"] == raw["birth_date"].str.slice(0, 7)).all()
    assert out["pupil_id"].str.fullmatch(r"[0-9a-f]{20}").all()


def test_malformed_ine_rows_are_quarantined_without_their_value(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    pupils = pd.DataFrame(
        {
            "ine": ["1234567890A", "12-45", None],
            "last_name": ["Durand"] * 3,
            "birth_date": ["2008-03-14"] * 3,
            "sex": ["F", "M", "F"],
        }
    )
    pupils.to_csv(raw / "pupils.csv", index=False)
    key = tmp_path / "keys" / "k"
    key.parent.mkdir()
    key.write_bytes(TEST_KEY)
    report = pseudonymise_extract(raw, tmp_path / "out", key_file=key)
    assert report.tables["pupils"] == {"rows_read": 3, "rows_written": 1, "rows_quarantined": 2}
    quarantine = (tmp_path / "out" / "quarantine" / "pseudonymise_pupils.csv").read_text()
    assert "12-45" not in quarantine and "Durand" not in quarantine
    assert pd.read_csv(tmp_path / "out" / "quarantine" / "pseudonymise_pupils.csv")["source_row"].tolist() == [2, 3]


def _cells(path: Path) -> set[str]:
    """Every cell or token a file holds, whatever its format."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return {str(v) for col in table.columns for v in col.to_pylist()}
    return set(re.split(r"[,;\n\r\"{}\[\]:]+|\s{2,}", path.read_text(encoding="utf-8", errors="replace")))


def test_no_identifier_anywhere_the_pipeline_writes(tmp_path: Path) -> None:
    runner = CliRunner()
    raw, key = tmp_path / "raw", tmp_path / "secret" / "k.key"
    outputs = [
        runner.invoke(
            app, ["synth", "--out", str(raw), "--pupils", "400", "--years", "2022-2023", "--inject-errors", "6"]
        )
    ]
    outputs.append(runner.invoke(app, ["keygen", str(key)]))
    outputs.append(runner.invoke(app, ["pseudonymise", "--key-file", str(key), str(raw), str(tmp_path / "ex")]))
    outputs.append(runner.invoke(app, ["validate", str(tmp_path / "ex"), "--out", str(tmp_path / "val")]))
    outputs.append(
        runner.invoke(
            app,
            [
                "features",
                "--data",
                str(tmp_path / "val"),
                "--out",
                str(tmp_path / "feat"),
                "--as-of",
                "2022-12-15,2023-06-15",
            ],
        )
    )
    assert all(o.exit_code == 0 for o in outputs), [o.output for o in outputs]

    pupils = pd.read_csv(raw / "pupils.csv", dtype=str)
    ines = set(pupils["ine"]) | set(pd.read_csv(raw / "attendance.csv", dtype=str)["ine"])
    full_names = set(pupils["first_name"] + " " + pupils["last_name"])
    secret = key.read_text().strip()
    assert _cells(raw / "attendance.csv") & ines, "the scan must see identifiers where they are"
    written = [p for d in ("ex", "val", "feat") for p in (tmp_path / d).rglob("*") if p.is_file()]
    assert len(written) >= 17
    for path in written:
        cells = _cells(path)
        text = path.read_bytes().decode("utf-8", errors="replace") if path.suffix != ".parquet" else ""
        assert not cells & ines, path
        assert not cells & set(pupils["last_name"]) - {""}, path
        assert not cells & set(pupils["birth_date"]), path
        assert secret not in text, path
    logs = "\n".join(o.output for o in outputs)
    assert not any(ine in logs for ine in ines)
    assert not any(name in logs for name in full_names)


def test_each_school_gets_its_own_correspondence_file(raw_extract: Path, key_file: Path, tmp_path: Path) -> None:
    """`--names-out`: per school, exactly its pupils, their pseudonym computed from their INE and
    their names, readable by the owner only; the pseudonymised extract itself stays without names."""
    out, names = tmp_path / "out", tmp_path / "names"
    result = CliRunner().invoke(
        app, ["pseudonymise", str(raw_extract), str(out), "--key-file", str(key_file), "--names-out", str(names)]
    )
    assert result.exit_code == 0, result.output
    raw_pupils = pd.read_csv(raw_extract / "pupils.csv", dtype=str).set_index("ine")
    raw_enrolments = pd.read_csv(raw_extract / "enrolments.csv", dtype=str)
    files = sorted(names.glob("correspondance_*.csv"))
    assert {f.stem.removeprefix("correspondance_") for f in files} == set(raw_enrolments["school_id"])
    for path in files:
        school = path.stem.removeprefix("correspondance_")
        listed = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert list(listed.columns) == ["pupil_id", "ine", "last_name", "first_name"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        enrolled = set(raw_enrolments.loc[raw_enrolments["school_id"] == school, "ine"])
        assert set(listed["ine"]) == enrolled
        key = key_file.read_bytes().strip()
        assert all(listed["pupil_id"] == [pseudonym(key, ine) for ine in listed["ine"]])
        assert all(listed["last_name"] == raw_pupils.loc[listed["ine"], "last_name"].to_numpy())
    for table in out.glob("*.csv"):
        assert not {"last_name", "first_name", "ine"} & set(pd.read_csv(table, nrows=0).columns), table


def test_correspondence_files_never_go_inside_the_extract(raw_extract: Path, key_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="correspondence files hold names"):
        pseudonymise_extract(raw_extract, tmp_path / "out", key_file=key_file, names_dir=tmp_path / "out" / "names")
