"""Hyperparameter search: cross-validate candidate TrainParams on the train split and rank them.

    python -m {{ cookiecutter.package_name }}.tune --data artifacts/prepared      # `make sweep`: the search, in-process
    python -m {{ cookiecutter.package_name }}.tune --sweep-space                   # the space as aml/pipeline.yml declares it

DEFAULT_SPACE is the one search space. Locally its candidates are scored here, one after another; on Databricks
through Spark's `map` (databricks/train_job.py hands each candidate to its own Spark task); on Azure ML as the
grid of the sweep step `train` in aml/pipeline.yml, whose `search_space` is `sweep_search_space()` (a test keeps
the committed YAML equal to it), each trial cross-validating with `cross_validate` (sweep_trial.py). Every
route scores with the same FOLDS and SCORING, so a candidate's `cv_score` is the same number everywhere.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields, replace
from itertools import product
from pathlib import Path

import pandas as pd
import yaml
from sklearn.base import clone, is_classifier
from sklearn.metrics import get_scorer
from sklearn.model_selection import check_cv, cross_val_score

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.data import CONTRACT, features_and_target
from {{ cookiecutter.package_name }}.prep import TRAIN_FILE
from {{ cookiecutter.package_name }}.settings import WORKDIR
from {{ cookiecutter.package_name }}.train import TrainParams, build_model

SearchSpace = dict[str, list[int | float]]
Scorer = Callable[[object], float]
RunAll = Callable[[Scorer, list[object]], list[float]]
OnFold = Callable[[int, float], None]

FOLDS = 5
SCORING = {"regression": "neg_root_mean_squared_error", "binary": "roc_auc", "multiclass": "roc_auc_ovr"}[
    CONTRACT.kind
]
"""scikit-learn's scorer for the search, by the data contract's task: higher is better."""
DEFAULT_SPACE: SearchSpace = {"n_estimators": [100, 200], "learning_rate": [0.05, 0.1], "max_depth": [2, 3]}
"""Eight candidates around the defaults of TrainParams."""


def candidates(base: TrainParams, space: SearchSpace) -> list[TrainParams]:
    """`base` with every combination of the space's values."""
    keys = sorted(space)
    return [
        replace(base, **dict(zip(keys, values, strict=True))) for values in product(*(space[k] for k in keys))
    ]


def parse_space(text: str) -> SearchSpace:
    """A JSON object mapping TrainParams fields to non-empty lists of values (an argparse `type`)."""
    known = sorted(field.name for field in fields(TrainParams))
    rule = f"must be a JSON object mapping hyperparameters ({', '.join(known)}) to non-empty lists of values"
    try:
        space = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {rule} ({err})") from err
    if (
        not isinstance(space, dict)
        or not space
        or set(space) - set(known)
        or not all(isinstance(values, list) and values for values in space.values())
    ):
        raise argparse.ArgumentTypeError(f"{text!r}: {rule}")
    return space


def _run_locally(score: Scorer, models: list[object]) -> list[float]:
    return [score(model) for model in models]


def search(train: pd.DataFrame, grid: Sequence[TrainParams], run_all: RunAll = _run_locally) -> pd.DataFrame:
    """The FOLDS-fold cross-validated SCORING of every candidate, the best first.

    `score` closes over the data and needs only scikit-learn: Spark ships it to workers that need not have
    this package installed (the train split travels with each task; the project's data fit one machine's
    memory). The estimators are built here and travel unfitted.
    """
    features, target = features_and_target(train)

    def score(model: object) -> float:
        return float(cross_val_score(model, features, target, cv=FOLDS, scoring=SCORING).mean())

    scores = run_all(score, [build_model(params) for params in grid])
    table = pd.DataFrame([{**asdict(p), "cv_score": s} for p, s in zip(grid, scores, strict=True)])
    return table.sort_values("cv_score", ascending=False, ignore_index=True)


def best(results: pd.DataFrame) -> TrainParams:
    """The first (best) row of `search`'s table as TrainParams."""
    return TrainParams(**{field.name: results.loc[0, field.name].item() for field in fields(TrainParams)})


def cross_validate(train: pd.DataFrame, params: TrainParams, on_fold: OnFold) -> float:
    """`search`'s score of `params`, fold by fold: `on_fold(folds_done, running_mean)` after each fold.

    The same splits and scorer as `cross_val_score(cv=FOLDS, scoring=SCORING)`, so the final mean is the
    `cv_score` that `search` gives the same candidate. The running mean is what an Azure ML early-termination
    policy reads: each logged value of the primary metric is one evaluation interval.
    """
    features, target = features_and_target(train)
    model = build_model(params)
    folds = check_cv(FOLDS, target, classifier=is_classifier(model)).split(features, target)
    scorer = get_scorer(SCORING)
    scores: list[float] = []
    for done, (fit_rows, score_rows) in enumerate(folds, start=1):
        fitted = clone(model).fit(features.iloc[fit_rows], target.iloc[fit_rows])
        scores.append(float(scorer(fitted, features.iloc[score_rows], target.iloc[score_rows])))
        on_fold(done, sum(scores) / len(scores))
    return sum(scores) / len(scores)


def sweep_search_space(space: SearchSpace = DEFAULT_SPACE) -> dict[str, dict[str, object]]:
    """`space` as an Azure ML sweep's `search_space`: a `choice` of the same values per hyperparameter."""
    return {name: {"type": "choice", "values": list(space[name])} for name in sorted(space)}


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--data", type=Path, default=WORKDIR / "prepared", help="prep's output folder")
    parser.add_argument(
        "--search", type=parse_space, default=DEFAULT_SPACE, help="JSON: hyperparameter -> values"
    )
    parser.add_argument(
        "--sweep-space",
        action="store_true",
        help="print the space as the sweep's `search_space` YAML and exit",
    )
    args = parser.parse_args(argv)

    def step() -> int:
        if args.sweep_space:
            print(yaml.safe_dump({"search_space": sweep_search_space(args.search)}, sort_keys=False), end="")
            return cli.EXIT_OK
        grid = candidates(TrainParams(), args.search)
        results = search(pd.read_parquet(args.data / TRAIN_FILE), grid)
        print(results.to_string(index=False))
        print(f"best of {len(grid)} candidates ({SCORING} {results.loc[0, 'cv_score']:.4f}): {best(results)}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
