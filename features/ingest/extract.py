"""Reading extract tables as they really come: contract CSV, Parquet, or French spreadsheet CSV.

Real exports are often ``;``-separated with decimal commas in cp1252 or latin-1; the reader
detects the encoding and separator and reports what it found, so nothing is guessed silently.
Values are read as text (CSV) or as stored (Parquet); typing is the validator's job.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Encodings tried in order; latin-1 decodes any byte so it always ends the search.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_SAMPLE_BYTES = 1 << 16


class ContractError(ValueError):
    """A structural problem that stops processing: a missing table, file or column."""


@dataclass(frozen=True)
class SourceInfo:
    """What the reader detected about one table file."""

    path: Path
    format: str  # "csv" or "parquet"
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def file(self) -> str:
        """The file's name, as error messages and reports cite it."""
        return self.path.name

    def describe(self) -> str:
        """How the file was read, in words, for the validation report's notes."""
        if self.format == "parquet":
            return "Parquet"
        return f"CSV, encoding {self.encoding}, separator {self.delimiter!r}"


def find_table(extract_dir: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``extract_dir``, or None when it is absent."""
    candidates = [p for p in (extract_dir / f"{name}.csv", extract_dir / f"{name}.parquet") if p.exists()]
    if len(candidates) > 1:
        raise ContractError(
            f"{extract_dir}: table '{name}' is given twice ({', '.join(p.name for p in candidates)}); keep one."
        )
    return candidates[0] if candidates else None


def detect_encoding(path: Path) -> str:
    """First encoding of utf-8, cp1252, latin-1 that decodes the whole file."""
    data = path.read_bytes()
    for encoding in _ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return "utf-8" if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf") else encoding
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def detect_delimiter(path: Path, encoding: str) -> str:
    """The separator of the header line: ``;``, ``,``, tab or ``|``."""
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    header = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(header, delimiters=";,\t|").delimiter
    except csv.Error:
        return ","


def read_table(path: Path) -> tuple[pd.DataFrame, SourceInfo]:
    """Read one table; CSV cells come back as text with empty cells as missing.

    A file that cannot be read as a table at all (empty, no header, not Parquet, broken
    quoting) is a structural error naming the file, never a parser's traceback.
    """
    if path.stat().st_size == 0:
        raise ContractError(f"{path}: the file is empty (0 bytes); the contract expects a header row at least.")
    if path.suffix == ".parquet":
        try:
            frame = pq.read_table(path).to_pandas(date_as_object=False)  # dates as datetime64, not objects
        except (pa.ArrowException, OSError) as error:
            raise ContractError(f"{path}: not a readable Parquet file ({error}).") from None
        return frame, SourceInfo(path, "parquet")
    encoding = detect_encoding(path)
    delimiter = detect_delimiter(path, encoding)
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            encoding="utf-8-sig" if encoding == "utf-8" else encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError:
        raise ContractError(f"{path}: no header row (the file holds only blank lines).") from None
    except pd.errors.ParserError as error:
        raise ContractError(f"{path}: not a readable CSV table ({error}).") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, SourceInfo(path, "csv", encoding, delimiter)


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table in the contract's form, CSV or Parquet by the path's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
