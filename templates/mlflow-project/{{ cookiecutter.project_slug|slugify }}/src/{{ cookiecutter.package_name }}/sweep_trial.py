"""One trial of the Azure ML sweep (aml/pipeline.yml, step `train`): cross-validate, then train.

    python -m {{ cookiecutter.package_name }}.sweep_trial --data artifacts/prepared --output artifacts/candidate \
        --n-estimators 100 --learning-rate 0.1 --max-depth 2

1. Cross-validates the trial's TrainParams on the train split (tune.cross_validate: the folds and scorer of
   the local search), logging the running mean as PRIMARY_METRIC after each fold. That is the sweep's
   objective, and its early-termination policy compares trials at every fold: a trial far behind the others
   is cancelled before its remaining folds and its fit.
2. Trains on the whole train split exactly as train.py does and writes candidate.json. The sweep step's
   `candidate` output is its best trial's, which evaluate gates like any single training.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd

from {{ cookiecutter.package_name }} import cli, tune
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.prep import TRAIN_FILE
from {{ cookiecutter.package_name }}.tracking import step_run
from {{ cookiecutter.package_name }}.train import TrainParams, add_step_arguments, params_from, train

PRIMARY_METRIC = "cv_score"
"""The sweep's `objective.primary_metric` (maximize): tune.SCORING's cross-validated mean, higher is better."""


def run_trial(data_dir: Path, output_dir: Path, params: TrainParams) -> tuple[float, Candidate]:
    """Log the running cross-validated score per fold into the trial's run, then train the candidate."""
    with step_run("sweep-trial"):
        mlflow.log_params({"cv_folds": tune.FOLDS, "cv_scoring": tune.SCORING})

        def log_fold(done: int, running_mean: float) -> None:
            mlflow.log_metric(PRIMARY_METRIC, running_mean, step=done)

        score = tune.cross_validate(pd.read_parquet(data_dir / TRAIN_FILE), params, log_fold)
        return score, train(data_dir, output_dir, params)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    add_step_arguments(parser)
    args = parser.parse_args(argv)

    def step() -> int:
        score, candidate = run_trial(args.data, args.output, params_from(args))
        print(f"{PRIMARY_METRIC} {score:.4f} ({tune.SCORING}); trained {candidate.model_uri}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
