"""Per-pupil signals from a validated extract (named apart from the ``features`` package)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from vigie.cli.console import bold, console, parse_date


def features(
    data: Annotated[Path, typer.Option(help="Validated extract (the output of 'vigie validate').")],
    out: Annotated[Path, typer.Option(help="Folder for features.parquet, audit.parquet and metadata.json.")],
    as_of: Annotated[str | None, typer.Option(help="As-of dates, comma-separated (YYYY-MM-DD,...).")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML feature config (as_of or schedule, horizon...).")] = None,
    engine: Annotated[Literal["duckdb", "spark"] | None, typer.Option(help="duckdb (embedded) or spark.")] = None,
    spark_master: Annotated[str | None, typer.Option(help="Spark master URL, e.g. local[*].")] = None,
    horizon_days: Annotated[int | None, typer.Option(help="Label horizon H in days.")] = None,
) -> None:
    """Build per-pupil signals at each as-of date, with labels where the horizon has closed."""
    from features.signals import build_features, load_feature_config

    overrides: dict[str, object] = {"engine": engine, "spark_master": spark_master, "horizon_days": horizon_days}
    if as_of:
        overrides["as_of"] = [parse_date(d.strip()) for d in as_of.split(",") if d.strip()]
        overrides["schedule"] = None
    feature_config = load_feature_config(config, {k: v for k, v in overrides.items() if v is not None})
    with console.status(f"Building features on {feature_config.engine}..."):
        output = build_features(data, out, feature_config)
    console.print(
        f"{output.rows:,} snapshots at {len(output.as_of)} as-of dates in {output.seconds:.1f} s "
        f"({feature_config.engine}), written to {bold(out)}."
    )
    for day, counts in output.metadata.per_as_of.items():
        console.print(f"  {day}: {counts.rows:,} pupils, {counts.labelled:,} labelled, {counts.positives:,} positive")
