"""The hyperparameter search: every candidate scored with the same folds, the best first, bad spaces refused."""

from __future__ import annotations

import argparse
from dataclasses import replace

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import tune
from {{ cookiecutter.package_name }}.prep import PreparedData
from {{ cookiecutter.package_name }}.train import TrainParams


def test_candidates_vary_only_the_searched_hyperparameters(fast_params: TrainParams) -> None:
    grid = tune.candidates(fast_params, {"max_depth": [2, 3], "learning_rate": [0.05, 0.1, 0.2]})
    assert len(grid) == 6
    assert {(p.max_depth, p.learning_rate) for p in grid} == {
        (d, r) for d in (2, 3) for r in (0.05, 0.1, 0.2)
    }
    assert {(p.n_estimators, p.subsample) for p in grid} == {
        (fast_params.n_estimators, fast_params.subsample)
    }


def test_the_search_ranks_candidates_best_first_through_the_given_map(
    tiny_prepared: PreparedData, fast_params: TrainParams
) -> None:
    grid = [replace(fast_params, max_depth=depth) for depth in (1, 2)]
    calls: list[int] = []

    def run_all(score: tune.Scorer, models: list[object]) -> list[float]:
        calls.append(len(models))
        return [score(model) for model in models]

    results = tune.search(pd.read_parquet(tiny_prepared.train), grid, run_all)
    assert calls == [2], "one map over all candidates: Spark gives each its own task"
    assert list(results["cv_score"]) == sorted(results["cv_score"], reverse=True)
    assert tune.best(results) in grid
    assert tune.best(results).max_depth == results.loc[0, "max_depth"]


@pytest.mark.parametrize("text", ['{"depth": [2]}', '{"max_depth": []}', "[2, 3]", "{", "{}"])
def test_a_bad_search_space_is_refused_with_the_rule(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="must be a JSON object mapping hyperparameters"):
        tune.parse_space(text)
