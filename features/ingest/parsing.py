"""Vectorised parsers from exported text to the contract's logical types.

Each parser returns missing (NA/NaT) where a value cannot be read, so a check can name the
rows that failed. They accept already-typed Parquet columns unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa

from features.ingest.contract import LogicalType, TableSpec

#: The words read as true or false (French and English), lower case; one list for both paths.
TRUE_WORDS = ("true", "1", "1.0", "oui", "vrai", "yes", "t", "o", "y")
FALSE_WORDS = ("false", "0", "0.0", "non", "faux", "no", "f", "n")
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
_TRUE = set(TRUE_WORDS)
_FALSE = set(FALSE_WORDS)
_MONTH = MONTH_PATTERN


def _text(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip()


def parse_str(values: pd.Series) -> pd.Series:
    """Text values, with empty cells as missing rather than as empty strings."""
    text = _text(values)
    return text.where(values.notna() & (text != ""))


def parse_date(values: pd.Series) -> pd.Series:
    """ISO ``YYYY-MM-DD``; ``DD/MM/YYYY`` (French spreadsheets) is accepted too."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.normalize().astype("datetime64[s]")
    text = _text(values)
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    french = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    return iso.fillna(french).where(values.notna()).astype("datetime64[s]")


def parse_month(values: pd.Series) -> pd.Series:
    """``YYYY-MM`` months; anything else is missing, so that the rule on the column can flag it."""
    text = _text(values)
    return text.where(values.notna() & text.str.match(_MONTH))


def parse_float(values: pd.Series) -> pd.Series:
    """Decimal point or decimal comma."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = _text(values).str.replace(",", ".", regex=False)
    return pd.to_numeric(text.where(values.notna()), errors="coerce").astype("float64")


def parse_int(values: pd.Series) -> pd.Series:
    """Whole numbers (``3`` or ``3.0``); a fraction or a non-number is missing, so that the rule on the column can flag
    it."""
    numbers = parse_float(values)
    whole = numbers.where(numbers == numbers.round())
    return whole.astype("Int64")


def parse_bool(values: pd.Series) -> pd.Series:
    """Booleans from a boolean column or the contract's true/false spellings; anything else is missing, so that the rule
    on the column can flag it."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    text = _text(values).str.lower()
    parsed = pd.Series(pd.NA, index=values.index, dtype="boolean")
    parsed[text.isin(_TRUE) & values.notna()] = True
    parsed[text.isin(_FALSE) & values.notna()] = False
    return parsed


PARSERS: dict[LogicalType, Callable[[pd.Series], pd.Series]] = {
    "str": parse_str,
    "date": parse_date,
    "month": parse_month,
    "int": parse_int,
    "float": parse_float,
    "bool": parse_bool,
}

EXPECTED: dict[LogicalType, str] = {
    "str": "text",
    "date": "a date YYYY-MM-DD",
    "month": "a month YYYY-MM",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
}

ARROW_TYPES: dict[LogicalType, pa.DataType] = {
    "str": pa.string(),
    "date": pa.date32(),
    "month": pa.string(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
}


def arrow_schema(spec: TableSpec, columns: list[str]) -> pa.Schema:
    """The Parquet schema of a validated table (only the columns it has)."""
    return pa.schema([(c.name, ARROW_TYPES[c.type]) for c in spec.columns if c.name in columns])


def parse_table(raw: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Typed copy of every column of the spec: unreadable cells become missing, and an optional
    column the extract leaves out (or a cell of it left empty) takes the contract's default."""
    typed = {}
    for column in spec.columns:
        values = PARSERS[column.type](raw[column.name] if column.name in raw.columns else _absent(raw.index))
        typed[column.name] = values if column.default is None else values.fillna(column.default)
    return pd.DataFrame(typed, index=raw.index)


def _absent(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="object")
