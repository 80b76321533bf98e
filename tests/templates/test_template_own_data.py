"""Bring your own data: a project generated for a file that is neither bundled sample runs the whole local loop.

The data is scikit-learn's wine dataset (178 wines, 13 measurements, three cultivars: a multi-class task the two
samples never exercise), written as the user's CSV. The project starts without a contract, `contract infer`
drafts one from the file, and then the project's own entry points run as a user runs them: prep, train, the
gate, register, serve (over HTTP), batch scoring and the drift report of examples/local-e2e.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from sklearn.datasets import load_wine

from tests.templates.generation import generate
from tests.templates.own_data import IN_PROJECT, Loop, ok, post_json

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

PACKAGE, MODEL_NAME, TARGET = "wine_cultivar", "wine-cultivar", "cultivar"
ANSWERS = {"project_name": "Wine Cultivar", "task": "classification", "data_source": "data/wine.csv"}


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = generate(tmp_path_factory.mktemp("own-data"), **ANSWERS)
    (project / "data").mkdir()
    wine = load_wine(as_frame=True).frame.rename(columns={"target": TARGET})
    wine.to_csv(project / "data" / "wine.csv", index=False)
    steps = Loop(project, tmp_path_factory.mktemp("store"), PACKAGE)
    results: dict[str, Any] = {"project": project, "tracking_uri": steps.tracking_uri}
    results["before_infer"] = steps.module("prep")
    results["infer"] = ok(steps.module("contract", "infer", "data/wine.csv", "--target", TARGET))
    results["pipeline"] = ok(steps.module("pipeline"))
    batches = project / "batches"
    ok(steps.run(IN_PROJECT / "batches.py", "--package", PACKAGE, "--test", "artifacts/prepared/test.parquet",
                 "--output", batches, "--shift", "0.5"))  # fmt: skip
    for name in ("batch", "batch_shifted"):
        scored = batches / f"scored_{name}.parquet"
        ok(steps.module("score_batch", "--input", batches / f"{name}.parquet", "--output", scored))
    drift = ok(steps.run(IN_PROJECT / "drift_report.py", "--package", PACKAGE, "--reference",
                         "artifacts/prepared/train.parquet", "--current", f"batch={batches / 'scored_batch.parquet'}",
                         "--current", f"batch_shifted={batches / 'scored_batch_shifted.parquet'}",
                         "--output", project / "drift"))  # fmt: skip
    results["drift"] = {item["batch"]: item for item in map(json.loads, drift.strip().splitlines())}
    with steps.served() as url:
        results["served"] = post_json(url, (batches / "request.json").read_bytes())
        results["malformed"] = post_json(url, (batches / "request_malformed.json").read_bytes())
    results["scored"] = pd.read_parquet(batches / "scored_batch.parquet")
    return results


def test_before_infer_every_step_says_to_write_the_contract(loop: dict[str, Any]) -> None:
    before = loop["before_infer"]
    assert before.returncode == 1 and "Traceback" not in before.stderr, before.stderr
    assert before.stderr.startswith("ERROR: data contract ") and "make contract-infer" in before.stderr


def test_infer_drafts_a_three_class_contract_from_the_users_file(loop: dict[str, Any]) -> None:
    project = loop["project"]
    drafted = yaml.safe_load((project / "src" / PACKAGE / "contract.yml").read_text(encoding="utf-8"))
    wine = load_wine(as_frame=True)
    assert drafted["task"] == "classification"
    assert drafted["target"] == {"name": TARGET, "description": "the column to predict (classification)",
                                 "classes": [0, 1, 2]}  # fmt: skip
    assert [feature["name"] for feature in drafted["features"]] == list(wine.feature_names)
    assert drafted["sample"] == {"path": "data/wine.csv"}
    request = json.loads((project / "aml" / "online" / "sample-request.json").read_text(encoding="utf-8"))
    assert request["input_data"]["columns"] == list(wine.feature_names)
    assert len(request["input_data"]["data"]) == 2


def test_the_gate_judges_multiclass_metrics_and_registers_the_champion(loop: dict[str, Any]) -> None:
    pipeline = loop["pipeline"]
    assert "gate PASSED" in pipeline
    assert "f1_score: " in pipeline and "accuracy_score: " in pipeline
    client = MlflowClient(tracking_uri=loop["tracking_uri"], registry_uri=loop["tracking_uri"])
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"


def test_the_served_champion_predicts_cultivars_and_refuses_a_missing_column(loop: dict[str, Any]) -> None:
    status, answer = loop["served"]
    assert status == 200 and set(answer["predictions"]) <= {0, 1, 2} and len(answer["predictions"]) == 3
    # Batch scoring loads the same champion: the same rows get the same classes.
    assert answer["predictions"] == loop["scored"]["prediction"].head(3).tolist()
    bad_status, bad = loop["malformed"]
    assert bad_status == 400 and "column 'alcohol': required but missing" in bad["message"]


def test_drift_is_reported_for_the_shifted_batch_only(loop: dict[str, Any]) -> None:
    drift = loop["drift"]
    assert drift["batch"]["drift"] is False
    assert drift["batch_shifted"]["drift"] is True and drift["batch_shifted"]["drifted_features"]


def test_the_training_pipeline_reads_the_users_file(loop: dict[str, Any]) -> None:
    """A local data_source becomes a uri_file input that `az ml job create` uploads with the job.
    https://learn.microsoft.com/azure/machine-learning/how-to-read-write-data-v2
    """
    from azure.ai.ml import load_job

    # What `az ml job create` sends: the SDK's own loader, then its request body.
    source = load_job(loop["project"] / "aml" / "pipeline.yml")._to_rest_object().properties.inputs["source"]
    assert (source.job_input_type, source.uri, source.mode) == (
        "uri_file",
        "../data/wine.csv",
        "ReadOnlyMount",
    )


def test_an_mltable_data_asset_is_the_pipelines_mltable_input(tmp_path: Path) -> None:
    """An `azureml:<asset>:<version>` answer is an mltable input; prep reads the files its MLTable lists.
    https://learn.microsoft.com/azure/machine-learning/how-to-mltable
    """
    from azure.ai.ml import load_job

    project = generate(tmp_path, **{**ANSWERS, "data_source": "azureml:wine-training:3"})
    source = load_job(project / "aml" / "pipeline.yml")._to_rest_object().properties.inputs["source"]
    # The SDK sends the asset as name:version (it drops the `azureml:` scheme from the reference).
    assert (source.job_input_type, source.mode) == ("mltable", "ReadOnlyMount")
    assert source.uri.endswith("wine-training:3")
    assert "DATA ?= \n" in (project / "Makefile").read_text(encoding="utf-8")
