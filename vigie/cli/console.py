"""Console plumbing every command shares: the terminal, logging, failures without tracebacks,
progress bars, and the parsers of dates, years, shares and durations.

Light on purpose: nothing here loads a heavy package, so that ``vigie --help`` answers at once.
"""

from __future__ import annotations

import logging
import os
import traceback
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from models.paths import Paths
from vigie.settings import get_settings

console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("vigie")
#: The loggers of our own code (each module logs under its package's name).
OUR_PACKAGES = ("vigie", "features", "models", "training", "serving", "fairness", "monitoring", "impact")
#: Exit codes: 0 done; 1 ``--strict`` found something; 2 bad input (named); 70 an unexpected failure.
EXIT_BAD_INPUT = 2
EXIT_SOFTWARE = 70


def expected_failures() -> tuple[type[BaseException], ...]:
    """Failures a user can fix from the message alone: bad files, settings, dates, a model not
    found. (Imported when a command fails: by then its packages are loaded.)"""
    from mlflow.exceptions import MlflowException

    from training.splits import SplitError

    return ValueError, SplitError, MlflowException, FileNotFoundError, PermissionError, NotADirectoryError


#: Where the project's own code lives: a ``ValueError`` raised anywhere else was raised by a
#: library inside Vigie (Fairlearn's « degenerate labels », say), a fault of Vigie's, not of the input.
_OUR_PACKAGES_ROOTS = tuple(Path(__file__).resolve().parents[2] / package for package in OUR_PACKAGES)


def raised_by_us(error: BaseException) -> bool:
    """Whether the innermost Python frame of ``error``'s traceback is in the project's packages.

    Checks done by a library on our behalf are still ours when we call it with the user's values
    and the error carries through: pydantic's validation errors (settings, configs) count as ours.
    """
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return True
    if type(error).__module__.partition(".")[0] in OUR_PACKAGES:  # our own error type, wherever it was
        return True  # raised again: a partition's worker process hands it back from the executor's code
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return True
    path = Path(frames[-1].filename).resolve()
    return any(path.is_relative_to(root) for root in _OUR_PACKAGES_ROOTS)


def is_bad_input(error: BaseException) -> bool:
    """An expected failure the user can fix: of an expected kind and, for a plain ``ValueError``,
    raised by Vigie's own checks rather than by a library it calls."""
    if not isinstance(error, expected_failures()):
        return False
    plain_value_error = isinstance(error, ValueError)
    return not plain_value_error or raised_by_us(error)


class NoTracebacks(TyperGroup):
    """Every command's failures end in one clear line, never a traceback on the user's screen.

    An expected failure prints its message and exits 2; an unexpected one prints a short
    message naming the log file, where the traceback is kept, and exits 70.
    """

    def invoke(self, ctx: Any) -> Any:  # Typer's vendored click Context
        """Run the command, turning an unexpected exception into a one-line error (logged in full) rather than a stack
        trace for the user."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # exits and usage errors: Typer's own
            raise
        except Exception as error:
            if is_bad_input(error):
                console.print(f"[bold red]error:[/] {escape(_said(error))}", markup=True, highlight=False)
                _record(error, expected=True)
                raise typer.Exit(code=EXIT_BAD_INPUT) from None
            where = _record(error, expected=False)
            console.print(
                f"[bold red]unexpected error[/] ({type(error).__name__}); this is a fault of Vigie, not of your "
                f"data. Details are in {bold(where)}: please attach that file when you report it."
            )
            raise typer.Exit(code=EXIT_SOFTWARE) from None


def bold(value: object) -> str:
    """A path or name in bold, printed verbatim (a bracket in it is not terminal markup)."""
    return f"[bold]{escape(str(value))}[/]"


def _said(error: BaseException) -> str:
    """The message a user reads: a missing file as ``path: no such file or directory``."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror[0].lower()}{error.strerror[1:]}"
    return str(error)


def _record(error: BaseException, *, expected: bool) -> Path:
    """Append the failure (with its traceback when unexpected) to the data folder's log file."""
    path = Paths(get_settings().data_dir).log_file
    path.parent.mkdir(parents=True, exist_ok=True)
    detail = str(error) if expected else "".join(traceback.format_exception(error))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{datetime.now(UTC).isoformat()} {'error' if expected else 'unexpected'}: {detail}\n")
    return path


def setup_logging(*, verbose: bool) -> None:
    """Our packages speak at the configured level (DEBUG with ``--verbose``) on the console."""
    level = logging.DEBUG if verbose else get_settings().log_level
    handler = RichHandler(console=console, show_path=False, log_time_format="[%Y-%m-%d %H:%M:%S]")  # not the locale's
    # Our packages speak at the configured level; libraries (Alembic, MLflow...) only of their
    # warnings, unless --verbose asks for everything.
    logging.basicConfig(level=level if verbose else logging.WARNING, format="%(message)s", handlers=[handler])
    for package in OUR_PACKAGES:
        logging.getLogger(package).setLevel(level)
    # MLflow installs its own handler at INFO when imported (every command imports it after this
    # runs); its variable, unless the user set it, says the same as for the other libraries.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "DEBUG" if verbose else "WARNING")


def progress_bar() -> Progress:
    """A progress bar on the console: what, how far, how long."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def parse_years(years: str) -> tuple[int, int]:
    """``2019-2024`` or ``2022``: first and last school year, named by their start year."""
    first, _, last = years.partition("-")
    try:
        return int(first), int(last or first)
    except ValueError:
        raise typer.BadParameter(f"expected YEAR or FIRST-LAST (e.g. 2019-2024), got {years!r}") from None


def parse_date(text: str) -> date:
    """``YYYY-MM-DD``, as the contract writes dates."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {text!r}") from None


def parse_share(text: str) -> float:
    """``10%`` or ``0.1``."""
    try:
        return float(text.removesuffix("%")) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise typer.BadParameter(f"expected a share such as 10% or 0.1, got {text!r}") from None


def parse_ttl(text: str) -> timedelta:
    """``8h``, ``30m``, ``2d`` or seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return timedelta(seconds=float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text))
    except (ValueError, IndexError):
        raise typer.BadParameter(f"expected a duration such as 8h, 30m or 2d, got {text!r}") from None
