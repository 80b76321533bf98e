"""The hyperparameter search: every candidate scored with the same folds, the best first, bad spaces refused."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import sweep_trial, tune
from {{ cookiecutter.package_name }}.handoff import Candidate
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


def test_a_trial_scores_a_candidate_as_the_search_does_fold_by_fold(
    tiny_prepared: PreparedData, fast_params: TrainParams
) -> None:
    """The sweep's trials and the local search rank candidates by the same number: the same folds and scorer."""
    train_split = pd.read_parquet(tiny_prepared.train)
    folds: list[tuple[int, float]] = []
    score = tune.cross_validate(train_split, fast_params, lambda done, mean: folds.append((done, mean)))
    assert [done for done, _ in folds] == list(range(1, tune.FOLDS + 1))
    assert folds[-1][1] == pytest.approx(score)
    (searched,) = tune.search(train_split, [fast_params])["cv_score"]
    assert score == pytest.approx(searched)


def test_the_sweep_trial_logs_the_running_score_per_fold_then_trains(
    tiny_prepared: PreparedData, fast_params: TrainParams, tmp_path: Path
) -> None:
    """Azure ML's early-termination policies read each logged value of the primary metric as one interval
    (https://learn.microsoft.com/en-us/azure/machine-learning/how-to-tune-hyperparameters): one value per fold,
    steps 1..FOLDS, in the trial's run; the trial then writes candidate.json like train.py."""
    score, candidate = sweep_trial.run_trial(tiny_prepared.train.parent, tmp_path, fast_params)
    trial_run = MlflowClient().get_run(candidate.run_id).data.tags["mlflow.parentRunId"]
    history = MlflowClient().get_metric_history(trial_run, sweep_trial.PRIMARY_METRIC)
    assert sorted(metric.step for metric in history) == list(range(1, tune.FOLDS + 1))
    assert max(history, key=lambda metric: metric.step).value == pytest.approx(score)
    assert Candidate.read(tmp_path) == candidate


def test_the_local_search_runs_the_default_space_in_process(
    tiny_prepared: PreparedData, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tune.main(["--data", str(tiny_prepared.train.parent), "--search", '{"max_depth": [1, 2]}']) == 0
    out = capsys.readouterr().out
    assert "best of 2 candidates" in out


def test_the_sweep_space_printed_is_the_one_search_space(capsys: pytest.CaptureFixture[str]) -> None:
    assert tune.main(["--sweep-space"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)["search_space"]
    assert printed == tune.sweep_search_space(tune.DEFAULT_SPACE)
    assert {name: spec["values"] for name, spec in printed.items()} == tune.DEFAULT_SPACE
