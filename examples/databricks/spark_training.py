"""Train on Spark, track and register with MLflow: the bundled diabetes sample as a Spark DataFrame.

    python examples/databricks/spark_training.py [--master local[2]] [--model-name diabetes-spark]

Steps: load the sample into Spark -> clean and split it in Spark -> search hyperparameters with one
Spark task per candidate -> refit the best on the whole train split -> log parameters, metrics, the
search table and the model -> register it. On Databricks the session and the tracking URI are the
cluster's (MLFLOW_TRACKING_URI = the AML workspace's azureml:// URI, set by the platform's job); locally
Spark runs in-process and MLflow logs wherever MLFLOW_TRACKING_URI points. Prints the run ID, the model
URI and the registered version.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as fn
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import r2_score, root_mean_squared_error
from sklearn.model_selection import cross_val_score

TARGET = "progression"
FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
MODEL_NAME = "diabetes-spark"
EXPERIMENT = "databricks-spark-example"
RANDOM_STATE = 42
TEST_BUCKETS = 5
"""One row in five goes to the test split, chosen by a hash of the row: the same on every cluster size."""
# Gradient-boosting trees are stored in this one type; MLflow 3's skops format refuses untrusted types.
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]
SEARCH_SPACE: dict[str, tuple[float, ...]] = {
    "n_estimators": (100, 200),
    "max_depth": (2, 3),
    "learning_rate": (0.05, 0.1),
}
"""Eight candidates: each one is a Spark task, so a cluster scores them in parallel."""


@dataclass(frozen=True)
class Trained:
    run_id: str
    model_uri: str
    version: str
    test_rmse: float


def spark_session(master: str | None) -> SparkSession:
    """The cluster's session on Databricks; an in-process one with `master` (e.g. local[2]) elsewhere."""
    builder = SparkSession.builder.appName("diabetes-spark")
    if master:
        # Python workers must run this interpreter (its scikit-learn), not whichever python3 is on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master(master).config("spark.ui.enabled", "false")
        builder = builder.config("spark.sql.shuffle.partitions", "4")
    return builder.getOrCreate()


def load_sample(spark: SparkSession) -> DataFrame:
    """The bundled sample (442 patients, unscaled) as a Spark DataFrame."""
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": TARGET})
    return spark.createDataFrame(frame)


def prepare(frame: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Cast to double, drop incomplete and implausible rows, and split deterministically by row hash."""
    columns = [*FEATURES, TARGET]
    typed = frame.select(*(fn.col(c).cast("double").alias(c) for c in columns)).dropna()
    # Physiological plausibility: catches unit mix-ups and sentinel values, not unusual patients.
    plausible = typed.where(
        fn.col("bmi").between(10, 80) & fn.col("bp").between(30, 250) & (fn.col(TARGET) >= 0)
    )
    bucketed = plausible.withColumn("_bucket", fn.pmod(fn.xxhash64(*columns), fn.lit(TEST_BUCKETS)))
    train = bucketed.where(fn.col("_bucket") != 0).drop("_bucket")
    test = bucketed.where(fn.col("_bucket") == 0).drop("_bucket")
    return train, test


SearchSpace = dict[str, tuple[float, ...]]


def candidates(space: SearchSpace) -> list[dict[str, float]]:
    """Every combination of the space's values."""
    keys = sorted(space)
    return [dict(zip(keys, values, strict=True)) for values in product(*(space[k] for k in keys))]


def search(spark: SparkSession, train: pd.DataFrame, space: SearchSpace) -> pd.DataFrame:
    """5-fold cross-validated RMSE of every candidate, one Spark task each; best (lowest) first."""
    shared = spark.sparkContext.broadcast(train)

    def score(params: dict[str, float]) -> dict[str, float]:
        data = shared.value
        model = GradientBoostingRegressor(**params, random_state=RANDOM_STATE)
        rmse = -cross_val_score(
            model, data[list(FEATURES)], data[TARGET], cv=5, scoring="neg_root_mean_squared_error"
        ).mean()
        return {**params, "cv_rmse": float(rmse)}

    grid = candidates(space)
    scores = spark.sparkContext.parallelize(grid, len(grid)).map(score).collect()
    shared.unpersist()
    return pd.DataFrame(scores).sort_values("cv_rmse", ignore_index=True)


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _log_model(model: GradientBoostingRegressor, example: pd.DataFrame) -> str:
    """Log the model into the active run; returns its URI.

    Against Azure ML, MLflow 3's logged-model API has answered 404 (Azure/azure-sdk-for-python#44896), so
    there the model is saved locally and uploaded as run artifacts, which registers the same way.
    """
    signature = infer_signature(example, model.predict(example))
    options = {"signature": signature, "input_example": example, "skops_trusted_types": SKOPS_TRUSTED_TYPES}
    if not mlflow.get_tracking_uri().startswith("azureml"):
        return mlflow.sklearn.log_model(model, name="model", **options).model_uri
    with tempfile.TemporaryDirectory() as folder:
        mlflow.sklearn.save_model(model, Path(folder, "model"), **options)
        mlflow.log_artifacts(str(Path(folder, "model")), artifact_path="model")
    return f"runs:/{mlflow.active_run().info.run_id}/model"


def train(spark: SparkSession, model_name: str = MODEL_NAME, space: SearchSpace | None = None) -> Trained:
    """The whole example: prepare in Spark, search on Spark, refit, log and register."""
    space = space or SEARCH_SPACE
    train_frame, test_frame = prepare(load_sample(spark))
    train_rows, test_rows = train_frame.toPandas(), test_frame.toPandas()
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name="spark-search") as run:
        results = search(spark, train_rows, space)
        # pandas hands back numpy scalars: whole-number hyperparameters go back to int for scikit-learn.
        best = {k: _plain(results.loc[0, k]) for k in space}
        mlflow.log_params({**best, "train_rows": len(train_rows), "test_rows": len(test_rows)})
        mlflow.log_table(results, artifact_file="search/cv_rmse.json")
        model = GradientBoostingRegressor(**best, random_state=RANDOM_STATE)
        model.fit(train_rows[list(FEATURES)], train_rows[TARGET])
        predicted = model.predict(test_rows[list(FEATURES)])
        test_rmse = float(root_mean_squared_error(test_rows[TARGET], predicted))
        mlflow.log_metrics(
            {
                "cv_rmse": float(results.loc[0, "cv_rmse"]),
                "test_rmse": test_rmse,
                "test_r2": float(r2_score(test_rows[TARGET], predicted)),
            }
        )
        model_uri = _log_model(model, train_rows[list(FEATURES)].head(5))
    version = mlflow.register_model(model_uri, model_name)
    return Trained(run.info.run_id, model_uri, str(version.version), test_rmse)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--master", default=None, help="Spark master for a local run, e.g. local[2]")
    parser.add_argument("--model-name", default=MODEL_NAME, help="registered model name")
    args = parser.parse_args(argv)
    trained = train(spark_session(args.master), args.model_name)
    print(f"run {trained.run_id}: {trained.model_uri} registered as {args.model_name} v{trained.version}")
    print(f"test RMSE {trained.test_rmse:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
