"""The Databricks job's entry point: Spark reads the table, the workers search, the package's pipeline trains.

    python databricks/train_job.py --table <catalog.schema.table> [--search '{"max_depth": [2, 3]}']
        [pipeline options: --subsample 0.8 --gate gate.toml ...]

The platform's job runs this file (a spark_python_task) with `--table <databricksTrainingTable>`:

1. Spark reads the schema's columns of the table; the package's prep validates them and splits them
   ({{ cookiecutter.package_name }}.prep), so a table that breaks the schema stops the job before any search.
2. Every candidate of the search space is cross-validated on the train split in its own Spark task: the job
   cluster's workers score the candidates in parallel, the driver only collects the scores.
3. The package's pipeline ({{ cookiecutter.package_name }}.pipeline, never a copy) trains the best candidate,
   evaluates it, gates it and registers it. MLFLOW_TRACKING_URI comes from the job cluster's environment:
   the AML workspace's azureml:// URI, so the search, the runs and the model land in the AML workspace.

Promotion to the Azure ML registry stays a separate, approved step (promote_job.py).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING

from project_path import add_project_source, export_client_secret

add_project_source()
export_client_secret()

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402

from {{ cookiecutter.package_name }} import cli, pipeline  # noqa: E402 (needs the deployed src/ on the path)
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, TARGET, features_and_target  # noqa: E402
from {{ cookiecutter.package_name }}.prep import prepare  # noqa: E402
from {{ cookiecutter.package_name }}.tracking import step_run  # noqa: E402
from {{ cookiecutter.package_name }}.train import TrainParams, add_param_arguments, build_model, params_from  # noqa: E402

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TABLE_FILE = "table.parquet"
SEARCH_SPACE: dict[str, list[int | float]] = {
    "n_estimators": [100, 200],
    "learning_rate": [0.05, 0.1],
    "max_depth": [2, 3],
}
"""Eight candidates around the package's defaults (train.TrainParams): eight Spark tasks."""
FOLDS = 5
SCORING = "{{ 'neg_root_mean_squared_error' if cookiecutter.task == 'regression' else 'roc_auc' }}"
"""scikit-learn's scorer for the search: higher is better."""


def read_table(spark: SparkSession, table: str, folder: Path) -> Path:
    """Write the schema's columns of `table` as one parquet file: the package's prep reads it like any source."""
    path = folder / TABLE_FILE
    spark.table(table).select(*FEATURE_NAMES, TARGET).toPandas().to_parquet(path, index=False)
    return path


def candidates(base: TrainParams, space: dict[str, list[int | float]]) -> list[TrainParams]:
    """`base` with every combination of the space's values."""
    keys = sorted(space)
    return [replace(base, **dict(zip(keys, values, strict=True))) for values in product(*(space[k] for k in keys))]


def search(spark: SparkSession, train: pd.DataFrame, grid: list[TrainParams]) -> pd.DataFrame:
    """Cross-validated score of every candidate, one Spark task each; the best first."""
    shared = spark.sparkContext.broadcast(features_and_target(train))
    # Unfitted estimators travel as scikit-learn objects: workers need scikit-learn, not this project.
    models = [build_model(params) for params in grid]

    def score(model: object) -> float:
        features, target = shared.value
        return float(cross_val_score(model, features, target, cv=FOLDS, scoring=SCORING).mean())

    scores = spark.sparkContext.parallelize(models, len(models)).map(score).collect()
    shared.unpersist()
    table = pd.DataFrame([{**asdict(params), "cv_score": value} for params, value in zip(grid, scores, strict=True)])
    return table.sort_values("cv_score", ascending=False, ignore_index=True)


def param_flags(params: TrainParams) -> list[str]:
    """`params` as the pipeline's command-line flags (train.add_param_arguments)."""
    return [item for key, value in asdict(params).items() for item in (f"--{key.replace('_', '-')}", str(value))]


def search_space(text: str) -> dict[str, list[int | float]]:
    """Parse --search: a JSON object mapping TrainParams fields to non-empty lists of values."""
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


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--table", required=True, help="Spark table to train on (catalog.schema.table)")
    parser.add_argument(
        "--search", type=search_space, default=SEARCH_SPACE, help="JSON: hyperparameter -> values to search"
    )
    add_param_arguments(parser)  # the values the search leaves alone (e.g. --subsample)
    args, pipeline_args = parser.parse_known_args(argv)
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
    grid = candidates(params_from(args), args.search)

    def steps() -> int:
        with tempfile.TemporaryDirectory() as folder, step_run("databricks-train"):
            source = read_table(spark, args.table, Path(folder))
            prepared = prepare(str(source), Path(folder) / "prepared")
            results = search(spark, pd.read_parquet(prepared.train), grid)
            mlflow.log_params({"table": args.table, "candidates": len(grid), "scoring": SCORING})
            mlflow.log_table(results, artifact_file="search/cv_scores.json")
            best = TrainParams(**{field.name: results.loc[0, field.name].item() for field in fields(TrainParams)})
            print(f"best of {len(grid)} candidates ({SCORING} {results.loc[0, 'cv_score']:.4f}): {best}")
            return pipeline.main(["--source", str(source), *param_flags(best), *pipeline_args])

    return cli.run(steps)


if __name__ == "__main__":
    raise SystemExit(main())
