"""Step 2, train: fit the baseline on the train split and log it to MLflow with its evidence.

    python -m {{ cookiecutter.package_name }}.train --data artifacts/prepared --output artifacts/candidate

Logs parameters, held-out metrics, diagnostic plots, the training data as an MLflow dataset, and
the model with its signature and an input example. Writes candidate.json for the evaluate step.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import mlflow.data
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from {{ cookiecutter.package_name }} import cli, plots
from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data import CONTRACT, TARGET, features_and_target
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.prep import TEST_FILE, TRAIN_FILE
from {{ cookiecutter.package_name }}.settings import RANDOM_STATE, WORKDIR
from {{ cookiecutter.package_name }}.tracking import log_validated_model, step_run

# The data contract's task picks the baseline.
Model = GradientBoostingRegressor if CONTRACT.task == "regression" else GradientBoostingClassifier


@dataclass(frozen=True)
class TrainParams:
    """Hyperparameters: each one is logged, and each is an MLproject and pipeline parameter."""

    n_estimators: int = 200
    learning_rate: float = 0.05
    max_depth: int = 3
    # Row subsampling makes each tree see 80% of the data: cheap regularisation for small datasets.
    subsample: float = 0.8


def build_model(params: TrainParams, contract: DataContract = CONTRACT) -> Model | Pipeline:
    """The baseline for `contract`: the gradient-boosting model itself when every feature is numeric; with
    `category` features, a pipeline that one-hot encodes them first (numeric columns pass through as they are).

    The encoder's categories are the contract's, not the ones the train split happens to hold: a value the
    contract allows but training never saw still has its column. Unknown values cannot reach it, because
    the scoring boundary (validated_model) refuses any value outside `categories` with a message naming
    the column; what does reach it outside the list is the missing value of a `nullable` feature, which
    handle_unknown="ignore" encodes as all zeros ("no category") where "error" would fail the request.
    """
    estimator = (GradientBoostingRegressor if contract.task == "regression" else GradientBoostingClassifier)(
        **asdict(params), random_state=RANDOM_STATE
    )
    categorical = contract.category_features
    if not categorical:
        return estimator
    encoder = OneHotEncoder(
        categories=[list(feature.categories or ()) for feature in categorical],
        handle_unknown="ignore",
        sparse_output=False,
    )
    columns = ColumnTransformer(
        [("category", encoder, [feature.name for feature in categorical])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return Pipeline([("encode", columns), ("model", estimator)])


def feature_importances(model: Model | Pipeline) -> pd.Series:
    """The fitted model's importances by input column; one entry per category for encoded features."""
    if isinstance(model, Pipeline):
        return pd.Series(model[-1].feature_importances_, index=model[:-1].get_feature_names_out())
    return pd.Series(model.feature_importances_, index=model.feature_names_in_)


def held_out_metrics(model: Model | Pipeline, test: pd.DataFrame) -> dict[str, float]:
    """Quick metrics for the run page; the gate's decision uses `mlflow.models.evaluate` instead."""
    features, target = features_and_target(test)
    predicted = model.predict(features)
    if CONTRACT.kind == "regression":
        return {
            "test_r2": float(r2_score(target, predicted)),
            "test_rmse": float(root_mean_squared_error(target, predicted)),
            "test_mae": float(mean_absolute_error(target, predicted)),
        }
    probabilities = model.predict_proba(features)
    if CONTRACT.kind == "binary":
        positive = list(model.classes_).index(CONTRACT.positive_class)
        return {
            "test_accuracy": float(accuracy_score(target, predicted)),
            "test_recall": float(recall_score(target, predicted, pos_label=CONTRACT.positive_class)),
            "test_roc_auc": float(roc_auc_score(target, probabilities[:, positive])),
        }
    return {
        "test_accuracy": float(accuracy_score(target, predicted)),
        "test_f1_macro": float(f1_score(target, predicted, average="macro")),
        "test_roc_auc_ovr": float(
            roc_auc_score(target, probabilities, multi_class="ovr", labels=model.classes_)
        ),
    }


def train(data_dir: Path, output_dir: Path, params: TrainParams) -> Candidate:
    """Fit on `data_dir`'s train split, log everything to MLflow, write candidate.json to `output_dir`."""
    train_frame = pd.read_parquet(data_dir / TRAIN_FILE)
    test_frame = pd.read_parquet(data_dir / TEST_FILE)
    features, target = features_and_target(train_frame)
    with step_run("train") as run:
        mlflow.log_input(
            mlflow.data.from_pandas(train_frame, targets=TARGET, name="train"), context="training"
        )
        mlflow.log_params({**asdict(params), "model_class": Model.__name__, "train_rows": len(train_frame)})
        model = build_model(params).fit(features, target)
        mlflow.log_metrics(held_out_metrics(model, test_frame))
        _log_figures(model, test_frame)
        model_uri = log_validated_model(model, features.head(5))
        candidate = Candidate(run_id=run.info.run_id, model_uri=model_uri)
    candidate.write(output_dir)
    return candidate


def _log_figures(model: Model | Pipeline, test: pd.DataFrame) -> None:
    features, target = features_and_target(test)
    importances = feature_importances(model)
    predicted = pd.Series(model.predict(features), index=target.index)
    figures = {
        "plots/feature_importance.png": plots.feature_importance(importances),
        **(
            {"plots/predicted_vs_actual.png": plots.predicted_vs_actual(target, predicted)}
            if CONTRACT.task == "regression"
            else {"plots/confusion_matrix.png": plots.confusion_matrix(target, predicted)}
        ),
    }
    for artifact_file, figure in figures.items():
        mlflow.log_figure(figure, artifact_file)
        plt.close(figure)


def add_param_arguments(parser: argparse.ArgumentParser) -> None:
    """The hyperparameter flags, shared with the pipeline command."""
    defaults = TrainParams()
    parser.add_argument("--n-estimators", type=int, default=defaults.n_estimators)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--max-depth", type=int, default=defaults.max_depth)
    parser.add_argument("--subsample", type=float, default=defaults.subsample)


def params_from(args: argparse.Namespace) -> TrainParams:
    return TrainParams(args.n_estimators, args.learning_rate, args.max_depth, args.subsample)


def add_step_arguments(parser: argparse.ArgumentParser) -> None:
    """--data, --output and the hyperparameters: the command line of every step that trains a candidate."""
    parser.add_argument("--data", type=Path, default=WORKDIR / "prepared", help="prep's output folder")
    parser.add_argument(
        "--output", type=Path, default=WORKDIR / "candidate", help="where candidate.json goes"
    )
    add_param_arguments(parser)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    add_step_arguments(parser)
    args = parser.parse_args(argv)

    def step() -> int:
        candidate = train(args.data, args.output, params_from(args))
        print(f"trained run {candidate.run_id}: {candidate.model_uri}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
