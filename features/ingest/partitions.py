"""Partitioned extracts: a national extract as a folder of extracts, one per département.

A *partitioned extract* is a folder whose subfolders, named ``KEY=VALUE`` (as Hive, DuckDB and
Spark name partitions; ``departement=075``), are each a complete extract in the contract's
form. Every row of a pupil lives in one partition: the rules that link tables (unknown pupil,
dates inside an enrolment) and the features are then exact partition by partition, so each
step streams the partitions and holds one at a time. A pupil found in two partitions breaks
that rule and stops processing.
"""

from __future__ import annotations

import multiprocessing
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from features.ingest.extract import ContractError, find_table

#: How the national synthetic extract names its partitions (any ``KEY=VALUE`` is read).
PARTITION_KEY = "departement"

Item = TypeVar("Item")
Result = TypeVar("Result")


def partition_name(key: str, value: str) -> str:
    """The Hive-style folder name (``key=value``) of one partition, as the readers of partitioned extracts expect."""
    return f"{key}={value}"


def find_partitions(folder: Path) -> list[Path]:
    """The partitions of a partitioned extract, in name order; empty for a plain extract.

    A folder holding tables itself is a plain extract, whatever its subfolders."""
    if not folder.is_dir() or find_table(folder, "pupils") is not None:
        return []
    found = sorted(p for p in folder.iterdir() if p.is_dir() and "=" in p.name and not p.name.startswith("."))
    empty = [p.name for p in found if find_table(p, "pupils") is None]
    if found and empty:
        raise ContractError(
            f"{folder}: partition(s) {', '.join(empty[:5])} hold no pupils table; "
            "each partition of an extract is a whole extract."
        )
    return found


def clear_stale_partitions(out_dir: Path, partitions: list[Path], report_name: str) -> None:
    """Remove the partitions an earlier run wrote into ``out_dir`` (recognised by their
    ``report_name``) that the extract no longer has: they would be read as part of it."""
    if not out_dir.is_dir():
        return
    current = {p.name for p in partitions}
    for folder in out_dir.iterdir():
        if folder.is_dir() and "=" in folder.name and folder.name not in current and (folder / report_name).exists():
            shutil.rmtree(folder)


def map_in_workers(
    fn: Callable[[Item], Result],
    items: Iterable[Item],
    jobs: int,
    *,
    start_worker: tuple[Callable[..., None], tuple[Any, ...]] | None = None,
) -> Iterator[Result]:
    """``fn`` over ``items``, in order: in this process for one job, else in ``jobs`` worker
    processes (started fresh, so no thread pool of this process is inherited half-way), each of
    which first runs ``start_worker`` (a function and its arguments) when given."""
    if jobs <= 1:
        yield from map(fn, items)
        return
    initializer, initargs = start_worker or (None, ())
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=initializer, initargs=initargs) as pool:
        yield from pool.map(fn, items)
