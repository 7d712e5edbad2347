"""CSV cells that a spreadsheet cannot run: one rule for every CSV the service writes.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
Excel and LibreOffice (``=HYPERLINK(…)`` in a token's subject would reach the data protection
officer's spreadsheet as a live link). Such a text cell is written with a leading apostrophe, which
the spreadsheet shows as text (OWASP, "CSV injection"). Numbers are left as numbers.
"""

from __future__ import annotations

import re
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

#: What a spreadsheet takes for the start of a formula.
FORMULA_START = r"^[=+\-@\t\r]"
_FORMULA = re.compile(FORMULA_START)
T = TypeVar("T")


def neutralise(value: T) -> T | str:
    """A text cell made inert (``'=…``); anything else as it is."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def neutralise_table(table: pa.Table) -> pa.Table:
    """Every text column of an Arrow table made inert, vectorised (exports of thousands of rows)."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.fill_null(pc.match_substring_regex(column, FORMULA_START), False)
            columns.append(pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column))
        else:
            columns.append(column)
    return pa.table(columns, names=table.column_names)
