"""Hyperparameter search: cross-validate candidate TrainParams on the train split and rank them.

The scoring runs through any `map`: the builtin one locally, Spark's on Databricks (databricks/train_job.py
hands each candidate to its own Spark task), so the search is the same code wherever it runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields, replace
from itertools import product

import pandas as pd
from sklearn.model_selection import cross_val_score

from {{ cookiecutter.package_name }}.data import CONTRACT, features_and_target
from {{ cookiecutter.package_name }}.train import TrainParams, build_model

SearchSpace = dict[str, list[int | float]]
Scorer = Callable[[object], float]
RunAll = Callable[[Scorer, list[object]], list[float]]

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
