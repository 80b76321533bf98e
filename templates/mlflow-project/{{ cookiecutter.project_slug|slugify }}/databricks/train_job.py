"""The Databricks job's entry point: Spark reads the table, the workers search, the package's pipeline trains.

    python databricks/train_job.py --table <catalog.schema.table> [--search '{"max_depth": [2, 3]}']
        [pipeline options: --subsample 0.8 --gate gate.toml ...]

The platform's job runs this file (a spark_python_task) with `--table <databricksTrainingTable>`:

1. Spark reads the table, and the executors validate every row against the package's schema and split it
   ({{ cookiecutter.package_name }}.spark_prep): a table that breaks the schema stops the job before the search,
   naming the column and the rule, and only the validated split comes to the driver.
2. The package's search ({{ cookiecutter.package_name }}.tune) cross-validates every candidate on the train
   split, each in its own Spark task: the job cluster's workers score the candidates in parallel.
3. The package's pipeline ({{ cookiecutter.package_name }}.pipeline) trains the best candidate, evaluates,
   gates and registers it. MLFLOW_TRACKING_URI comes from the job cluster's environment: the AML
   workspace's azureml:// URI, so the search, the runs and the model land in the AML workspace.

Promotion to the Azure ML registry stays a separate, approved step (promote_job.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from project_path import add_project_source, export_client_secret

add_project_source()
export_client_secret()

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402

# The package's own code, never a copy (needs the deployed src/ on the path).
from {{ cookiecutter.package_name }} import cli, pipeline, spark_prep, tune  # noqa: E402
from {{ cookiecutter.package_name }}.tracking import step_run  # noqa: E402
from {{ cookiecutter.package_name }}.train import TrainParams, add_param_arguments, params_from  # noqa: E402

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def on_workers(spark: SparkSession) -> tune.RunAll:
    """Run the search's scoring with one Spark task per candidate, on the cluster's workers."""

    def run_all(score: tune.Scorer, models: list[object]) -> list[float]:
        return spark.sparkContext.parallelize(models, len(models)).map(score).collect()

    return run_all


def param_flags(params: TrainParams) -> list[str]:
    """`params` as the pipeline's command-line flags (train.add_param_arguments)."""
    return [f"--{key.replace('_', '-')}={value}" for key, value in vars(params).items()]


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--table", required=True, help="Spark table to train on (catalog.schema.table)")
    parser.add_argument(
        "--search", type=tune.parse_space, default=tune.DEFAULT_SPACE, help="JSON: hyperparameter -> values"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="hand-off folder (default: a temporary one on the driver)"
    )
    add_param_arguments(parser)  # the values the search leaves alone (e.g. --subsample)
    args, pipeline_args = parser.parse_known_args(argv)
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
    grid = tune.candidates(params_from(args), args.search)

    def steps() -> int:
        with tempfile.TemporaryDirectory() as folder, step_run("databricks-train"):
            prepared = spark_prep.prepare(spark.table(args.table), Path(folder) / "prepared")
            results = tune.search(pd.read_parquet(prepared.train), grid, on_workers(spark))
            mlflow.log_params({"table": args.table, "candidates": len(grid), "scoring": tune.SCORING})
            mlflow.log_table(results, artifact_file="search/cv_scores.json")
            chosen, score = tune.best(results), results.loc[0, "cv_score"]
            print(f"best of {len(grid)} candidates ({tune.SCORING} {score:.4f}): {chosen}")
            # The job's files folder is not the principal's to write: hand-off files stay on the driver's disk.
            workdir = args.workdir or Path(folder) / "work"
            return pipeline.main(
                [
                    "--prepared",
                    str(prepared.train.parent),
                    "--workdir",
                    str(workdir),
                    *param_flags(chosen),
                    *pipeline_args,
                ]
            )

    return cli.run(steps)


if __name__ == "__main__":
    raise SystemExit(main())
