"""Pseudonymisation of a raw extract (plan Action 12), exactly as the contract defines it.

``pupil_id = HMAC-SHA256(key, ine).hexdigest()[:20]`` with the key file's bytes stripped of
surrounding white space and ``ine`` stripped and upper-cased, UTF-8. Names are dropped and
``birth_date`` is cut to ``birth_month``. Nothing written or logged carries an ``ine``, a name
or the key: rows with an unusable ``ine`` are quarantined by row number, their identifier
withheld.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from features.ingest import contract as c
from features.ingest.extract import ContractError, find_table, read_table, write_table
from features.ingest.parsing import parse_date
from features.ingest.partitions import clear_stale_partitions, find_partitions, map_in_workers

log = logging.getLogger(__name__)

MIN_KEY_BYTES = 16
_NAME_COLUMNS = ("last_name", "first_name")


class KeyFileError(ContractError):
    """The key file is missing, unreadable, too short or badly placed."""


def generate_key(path: Path) -> Path:
    """Write a new random key (256 bits, hex) readable by its owner only; never overwrite."""
    if path.exists():
        raise KeyFileError(f"{path}: a key file already exists; refusing to overwrite it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


def load_key(path: Path) -> bytes:
    """The pseudonymisation key from ``path``; a missing or too-short key is a KeyFileError saying how to make one,
    since a weak key would make the pseudonyms guessable."""
    if not path.is_file():
        raise KeyFileError(f"{path}: key file not found; create one with 'vigie keygen'.")
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(f"{path}: key too short ({len(key)} bytes, at least {MIN_KEY_BYTES}).")
    return key


def pseudonym(key: bytes, ine: str) -> str:
    """The contract's pseudonym of one INE."""
    message = ine.strip().upper().encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def pseudonymise_ids(key: bytes, ines: pd.Series) -> pd.Series:
    """Pseudonyms of a column of INEs, hashing each distinct value once."""
    codes, uniques = pd.factorize(ines.astype("str").str.strip().str.upper())
    mapped = [pseudonym(key, value) for value in uniques]
    return pd.Series(pd.array(mapped, dtype="str")[codes], index=ines.index)


@dataclass
class PseudonymisationReport:
    """What ``vigie pseudonymise`` did: rows per table, why rows were set aside, and the correspondence files written,
    so that the counts can be reconciled."""

    raw_dir: str
    out_dir: str
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    quarantine_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Correspondence files written (one per school), when asked for: school -> pupils listed.
    correspondence: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        """The report as the JSON written beside the pseudonymised extract."""
        return json.dumps(asdict(self), indent=2)

    def add(self, other: PseudonymisationReport) -> None:
        """Count a partition's report into this one."""
        for name, counts in other.tables.items():
            mine = self.tables.setdefault(name, dict.fromkeys(counts, 0))
            for column, n in counts.items():
                mine[column] += n
        for name, reasons in other.quarantine_reasons.items():
            mine = self.quarantine_reasons.setdefault(name, {})
            for reason, n in reasons.items():
                mine[reason] = mine.get(reason, 0) + n
        self.correspondence.update(other.correspondence)


def _is_inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def pseudonymise_extract(
    raw_dir: Path,
    out_dir: Path,
    *,
    key_file: Path,
    names_dir: Path | None = None,
    on_table: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> PseudonymisationReport:
    """Write the pseudonymised form of every contract table found in ``raw_dir``; with
    ``names_dir``, also each school's correspondence file (:func:`write_correspondence`).

    A partitioned extract (:mod:`features.ingest.partitions`) is pseudonymised partition by
    partition, in ``jobs`` processes, into the same partitions of ``out_dir``; ``on_table`` is
    then told each partition's name, and the report sums them."""
    _check_places(raw_dir, out_dir, key_file, names_dir)
    partitions = find_partitions(raw_dir)
    if not partitions:
        return _pseudonymise_one(raw_dir, out_dir, key_file, names_dir, on_table)
    report = PseudonymisationReport(str(raw_dir), str(out_dir))
    clear_stale_partitions(out_dir, partitions, "pseudonymisation_report.json")
    work = [(part, out_dir / part.name, key_file, names_dir) for part in partitions]
    for part, done in zip(partitions, map_in_workers(_pseudonymise_partition, work, jobs), strict=True):
        report.add(done)
        if on_table is not None:
            on_table(part.name)
    (out_dir / "pseudonymisation_report.json").write_text(report.to_json(), encoding="utf-8")
    return report


def _pseudonymise_partition(args: tuple[Path, Path, Path, Path | None]) -> PseudonymisationReport:
    try:
        return _pseudonymise_one(*args, None)
    except ContractError as error:
        raise type(error)(f"partition {args[0].name}: {error}") from None


def _check_places(raw_dir: Path, out_dir: Path, key_file: Path, names_dir: Path | None) -> None:
    if _is_inside(key_file, out_dir) or _is_inside(key_file, raw_dir):
        raise KeyFileError(f"{key_file}: the key must not be stored beside the data ({raw_dir}, {out_dir}).")
    if names_dir is not None and _is_inside(names_dir, out_dir):
        raise ContractError(f"{names_dir}: correspondence files hold names; keep them out of the extract ({out_dir}).")
    load_key(key_file)
    if out_dir.resolve() == raw_dir.resolve():
        raise ContractError(f"{out_dir}: the output folder must differ from the raw folder.")


def _pseudonymise_one(
    raw_dir: Path,
    out_dir: Path,
    key_file: Path,
    names_dir: Path | None,
    on_table: Callable[[str], None] | None,
) -> PseudonymisationReport:
    key = load_key(key_file)
    report = PseudonymisationReport(str(raw_dir), str(out_dir))
    found = {name: find_table(raw_dir, name) for name in c.TABLES}
    if found["pupils"] is None:
        raise ContractError(f"{raw_dir}: required table 'pupils' missing (pupils.csv or pupils.parquet).")
    kept: dict[str, pd.DataFrame] = {}
    for name, path in found.items():
        if on_table is not None:
            on_table(name)
        if path is None:
            continue
        raw, _source = read_table(path)
        if name != "calendar" and "ine" not in raw.columns:
            raise ContractError(f"{path.name}: column 'ine' missing; a raw extract identifies pupils by ine.")
        frame, quarantined, reasons = _pseudonymise_table(key, raw)
        if name == "pupils":
            kept["pupils"] = raw
        elif name == "enrolments":
            kept["enrolments"] = frame
        write_table(frame, out_dir / path.name)
        if len(quarantined):
            write_table(quarantined, out_dir / "quarantine" / f"pseudonymise_{name}.csv")
        report.tables[name] = {"rows_read": len(raw), "rows_written": len(frame), "rows_quarantined": len(quarantined)}
        report.quarantine_reasons[name] = reasons
        log.info("%s: %d rows pseudonymised, %d quarantined", path.name, len(frame), len(quarantined))
    if names_dir is not None:
        enrolments = kept.get("enrolments", pd.DataFrame(columns=["pupil_id", "school_id"]))
        report.correspondence = write_correspondence(key, kept["pupils"], enrolments, names_dir)
    (out_dir / "pseudonymisation_report.json").write_text(report.to_json(), encoding="utf-8")
    return report


CORRESPONDENCE_COLUMNS = ("pupil_id", "ine", "last_name", "first_name")


def correspondence_file(names_dir: Path, school_id: str) -> Path:
    """Where a school's correspondence file (pseudonym to name, kept by the school only) lies in ``names_dir``."""
    return names_dir / f"correspondance_{school_id}.csv"


def write_correspondence(
    key: bytes, raw_pupils: pd.DataFrame, enrolments: pd.DataFrame, names_dir: Path
) -> dict[str, int]:
    """One file per school, for that school only: its pupils' pseudonym, INE and names.

    Staff open it in their browser beside Vigie's pages, which read it locally to show names;
    Vigie itself never reads it. Files are readable by their owner only. A pupil enrolled in
    several schools over the extract's years appears in each of them.
    """
    pupils = raw_pupils.assign(ine=raw_pupils["ine"].astype("str").str.strip().str.upper())
    pupils = pupils[raw_pupils["ine"].notna() & pupils["ine"].str.match(c.INE_PATTERN)].drop_duplicates("ine")
    for column in ("last_name", "first_name"):
        if column not in pupils.columns:
            pupils[column] = ""
    pupils.insert(0, "pupil_id", pseudonymise_ids(key, pupils["ine"]))
    names_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    pairs = enrolments[["pupil_id", "school_id"]].drop_duplicates()
    for school_id, rows in pairs.groupby("school_id", sort=True):
        listed = pupils[pupils["pupil_id"].isin(rows["pupil_id"])].sort_values(["last_name", "first_name"])
        path = correspondence_file(names_dir, str(school_id))
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            listed[list(CORRESPONDENCE_COLUMNS)].to_csv(handle, index=False)
        written[str(school_id)] = len(listed)
    log.info("correspondence files written for %d schools", len(written))
    return written


def _pseudonymise_table(key: bytes, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    frame = raw.drop(columns=[col for col in _NAME_COLUMNS if col in raw.columns])
    if "ine" not in frame.columns:
        return frame, frame.iloc[0:0], {}
    ine = frame["ine"].astype("str").str.strip().str.upper()
    usable = frame["ine"].notna() & ine.str.match(c.INE_PATTERN)
    quarantined = frame.loc[~usable].drop(columns=["ine", "birth_date"], errors="ignore")
    quarantined.insert(0, "source_row", quarantined.index + 1)
    quarantined["quarantine_reasons"] = "ine: missing or not 11 letters and digits (value withheld)"
    frame = frame.loc[usable]
    columns = list(frame.columns)
    frame.insert(columns.index("ine"), "pupil_id", pseudonymise_ids(key, frame["ine"]))
    frame = frame.drop(columns=["ine"])
    if "birth_date" in frame.columns:
        position = list(frame.columns).index("birth_date")
        month = parse_date(frame["birth_date"]).dt.strftime("%Y-%m")
        frame.insert(position, "birth_month", month)
        frame = frame.drop(columns=["birth_date"])
    reasons = {"ine: missing or malformed": int((~usable).sum())} if (~usable).any() else {}
    return frame.reset_index(drop=True), quarantined.reset_index(drop=True), reasons
