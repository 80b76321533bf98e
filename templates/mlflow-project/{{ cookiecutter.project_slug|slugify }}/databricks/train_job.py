"""The Databricks job's entry point: the project's own pipeline on a Databricks cluster, tracked in Azure ML.

    python databricks/train_job.py [--table <catalog.schema.table>] [pipeline options: --n-estimators 300 ...]

Databricks runs this file (a spark_python_task) from the bundle's files/. MLFLOW_TRACKING_URI comes from the
job cluster's environment: the AML workspace's azureml:// URI (the platform's `mlflowTrackingUri` output),
so runs, the gate's evaluation and the registered model land in the AML workspace. With --table, Spark reads
the training data from a table and hands it to the pipeline as a parquet file; prep, training, the gate and
registration are the package's ({{ cookiecutter.package_name }}.pipeline), never a copy. Promotion to the
Azure ML registry stays a separate, approved step (promote_job.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from project_path import add_project_source, export_client_secret

add_project_source()
export_client_secret()

from {{ cookiecutter.package_name }} import cli, pipeline  # noqa: E402 (needs the deployed src/ on the path)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TABLE_FILE = "table.parquet"


def export_table(spark: SparkSession, table: str, folder: Path) -> Path:
    """Write `table` as one parquet file under `folder`: the pipeline validates and splits it like any source."""
    path = folder / TABLE_FILE
    # The project's datasets fit one machine's memory; Spark's part is reading governed tables.
    spark.table(table).toPandas().to_parquet(path, index=False)
    return path


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--table", help="Spark table to train on, instead of --source")
    args, pipeline_args = parser.parse_known_args(argv)
    if args.table is None:
        return pipeline.main(pipeline_args)
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
    with tempfile.TemporaryDirectory() as folder:
        source = export_table(spark, args.table, Path(folder))
        return pipeline.main(["--source", str(source), *pipeline_args])


if __name__ == "__main__":
    raise SystemExit(main())
