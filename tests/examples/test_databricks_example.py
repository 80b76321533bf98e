"""examples/databricks: Spark prepares and searches, MLflow tracks and registers, the shared CLI deploys.

The training runs for real on local Spark (`local[1]`, Java 17) against a temporary sqlite MLflow store;
the deployment runs the platform's blue/green release against the pipeline tests' fake endpoint.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from unittest import mock

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.pipelines.aml_fakes import FakeOnlineEndpoint

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "databricks"
WORKSPACE_ARGS = [
    *("--subscription-id", "00000000-0000-0000-0000-000000000000"),
    *("--resource-group", "rg-mlops-dev-we"),
    *("--workspace", "mlw-mlops-dev-we"),
]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"databricks_example_{name}", EXAMPLE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_spark_training_tracks_and_registers_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    training = _load("spark_training")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # A sqlite store's default artifact root is ./mlruns: keep the artifacts out of the repository.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    mlflow.set_tracking_uri(tracking)
    spark = training.spark_session("local[1]")
    # mlflow.set_experiment exports MLFLOW_EXPERIMENT_ID: it must not outlive this test in the worker process,
    # where a later test's subprocess would inherit an experiment its own store lacks.
    with mock.patch.dict(os.environ):
        try:
            # A two-candidate search keeps the test short; the script searches eight.
            trained = training.train(
                spark, "diabetes-spark-test", {"n_estimators": (40,), "max_depth": (2, 3)}
            )
            train_rows, test_rows = (frame.count() for frame in training.prepare(training.load_sample(spark)))
            model = mlflow.pyfunc.load_model(f"models:/diabetes-spark-test/{trained.version}")
        finally:
            spark.stop()
            mlflow.set_tracking_uri(None)
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    run = client.get_run(trained.run_id)
    assert run.data.params["n_estimators"] == "40" and run.data.params["max_depth"] in ("2", "3")
    assert {"cv_rmse", "test_rmse", "test_r2"} <= set(run.data.metrics)
    assert 30 < run.data.metrics["test_rmse"] < 90, "the sample's progression spans about 25-346"
    assert (int(run.data.params["train_rows"]), int(run.data.params["test_rows"])) == (train_rows, test_rows)
    assert train_rows + test_rows == 442 and 0.1 < test_rows / 442 < 0.3
    version = client.get_model_version("diabetes-spark-test", trained.version)
    assert version.run_id == trained.run_id
    request = _load("deploy_to_aml").sample_request(rows=2)["input_data"]
    frame = pd.DataFrame(request["data"], columns=request["columns"])
    assert len(model.predict(frame)) == 2


def test_the_split_is_the_same_on_every_run() -> None:
    training = _load("spark_training")
    spark = training.spark_session("local[1]")
    try:
        first = sorted(r["s1"] for r in training.prepare(training.load_sample(spark))[1].collect())
        second = sorted(r["s1"] for r in training.prepare(training.load_sample(spark))[1].collect())
    finally:
        spark.stop()
    assert first == second and len(first) > 50


def test_deploy_hands_the_registered_version_to_the_blue_green_release() -> None:
    deploy = _load("deploy_to_aml")
    endpoint = FakeOnlineEndpoint({"blue": 100})
    argv = [*WORKSPACE_ARGS, "--endpoint", "diabetes-spark-ep", "--version", "7", "--traffic-steps", "50,100"]
    argv += ["--step-wait-seconds", "0"]
    code = deploy.main(argv, api=endpoint)
    assert code == 0
    assert ("create", "green", "azureml:diabetes-spark:7") in endpoint.calls
    assert endpoint.traffic == {"blue": 0, "green": 100}


def test_the_request_is_in_the_managed_endpoint_format() -> None:
    request = _load("deploy_to_aml").sample_request(rows=3)
    assert set(request) == {"input_data"}
    assert request["input_data"]["columns"] == list(_load("spark_training").FEATURES)
    assert len(json.loads(json.dumps(request))["input_data"]["data"]) == 3
