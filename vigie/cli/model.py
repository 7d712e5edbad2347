"""A model's life before it serves: training with its gate, and the fairness audit."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from models import DEFAULT_MODEL_NAME
from models.paths import Paths
from vigie.cli.console import bold, console, parse_date, parse_share
from vigie.settings import get_settings


def train(
    data: Annotated[Path, typer.Option(help="Feature folder ('vigie features') or validated extract.")],
    config: Annotated[Path | None, typer.Option(help="Experiment config (YAML, versioned).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (overrides the config).")] = None,
    trials: Annotated[int | None, typer.Option(help="Optuna trials for the hyperparameter search.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Time budget of the search, seconds.")] = None,
    register: Annotated[bool, typer.Option(help="Register the model and apply the promotion gate.")] = True,
    fairness: Annotated[bool, typer.Option(help="Audit fairness on the test fold (the gate may require it).")] = True,
    fairness_config: Annotated[Path | None, typer.Option(help="Fairness audit config (YAML).")] = None,
) -> None:
    """Train on temporal folds, compare with the baselines, track in MLflow, gate the champion alias."""
    from fairness.config import load_fairness_config
    from fairness.review import fold_audit_check
    from models.objections import read_objections
    from serving.batch import kept_batches
    from training.config import load_train_config
    from training.report import render_training
    from training.tracking import log_training
    from training.train import load_feature_set
    from training.train import train as run_training

    overrides = {"seed": seed, "tuning.trials": trials, "tuning.timeout_seconds": timeout}
    train_config = load_train_config(config, {k: v for k, v in overrides.items() if v is not None})
    audit_config = load_fairness_config(fairness_config) if fairness else None
    settings = get_settings()
    objections = read_objections(settings.service.database(settings.data_dir))  # GDPR art. 21
    with console.status("Loading features..."):
        feature_set = load_feature_set(data, train_config, settings.data_dir, objections=objections)
    if feature_set.left_out:
        console.print(f"{feature_set.left_out:,} snapshots left out: their pupils objected (GDPR art. 21).")
    with console.status("Training the model and the baselines on temporal folds..."):
        result = run_training(feature_set, train_config)
    check = None
    if audit_config is not None:
        check = fold_audit_check(
            feature_set.folder,
            audit_config,
            data_hash=feature_set.metadata.input_hash,
            synthetic=train_config.synthetic_data,
        )
    with console.status("Auditing fairness on the test fold, logging to MLflow..."):
        scored = [kept.as_of for kept in kept_batches(Paths(settings.data_dir).score_history)]
        tracked = log_training(
            result, feature_set, train_config, data_dir=settings.data_dir, register=register, fairness=check,
            scored=scored,
        )  # fmt: skip
    console.print(render_training(result, tracked, train_config.capacities))


def audit(
    data: Annotated[Path, typer.Option(help="Validated extract with outcomes up to D + horizon.")],
    as_of: Annotated[
        date, typer.Option(parser=parse_date, help="As-of date D (YYYY-MM-DD); its horizon must have closed.")
    ],
    model: Annotated[
        str, typer.Option(help="models:/NAME@ALIAS, models:/NAME/VERSION, or an alias or version.")
    ] = "champion",
    model_name: Annotated[
        str, typer.Option(help="Registered model name (when --model is not a URI).")
    ] = DEFAULT_MODEL_NAME,
    capacity: Annotated[
        str | None, typer.Option(help="Share of pupils flagged, 15% or 0.15 (default: the model's operating point).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Fairness audit config (YAML).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: DATA_DIR/fairness/NAME-vVERSION-D).")
    ] = None,
    synthetic_data: Annotated[bool, typer.Option(help="Say on the report that the data are synthetic.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit with 1 when the fairness gate fails.")] = False,
) -> None:
    """Fairness audit of a registered model at D: groups, intervals, mitigation, a French report in MLflow."""
    from fairness.config import load_fairness_config
    from fairness.review import audit_extract, log_review
    from models.objections import read_objections
    from models.registry import load_registered, parse_model_reference, use_tracking_store

    settings = get_settings()
    share = None if capacity is None else parse_share(capacity)
    audit_config = load_fairness_config(config, {"capacity": share} if share is not None else None)
    name, reference = parse_model_reference(model, model_name)
    use_tracking_store(settings.data_dir)
    with console.status(f"Loading {name}@{reference}..."):
        loaded = load_registered(name, reference)
    with console.status(f"Building features as of {as_of}, scoring, auditing..."):
        review = audit_extract(
            data,
            as_of,
            loaded,
            audit_config,
            work_dir=settings.data_dir,
            synthetic=synthetic_data,
            objections=read_objections(settings.service.database(settings.data_dir)),
        )
        folder = out or Paths(settings.data_dir).fairness_report(name, loaded.version, as_of)
        paths = review.write(folder)
        where = log_review(paths, review, name, loaded.version)
    for line in review.summary_lines():
        console.print(f"  {line}", markup=False, highlight=False)
    console.print(f"Fairness report: {bold(paths[0])} (JSON beside it); logged to MLflow: {where}")
    if strict and not review.passed:
        raise typer.Exit(code=1)
