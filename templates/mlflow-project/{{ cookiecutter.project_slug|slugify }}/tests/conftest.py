"""One temporary MLflow store for the session; each test registers under its own model name."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data import CONTRACT, load_sample, split
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.prep import TEST_FILE, TRAIN_FILE, PreparedData, prepare
from {{ cookiecutter.package_name }}.{{ "torch_train" if cookiecutter.framework == "pytorch" else "train" }} import TrainParams, train

TINY_ROWS = 120
{%- if cookiecutter.framework == "pytorch" %}
FAST = TrainParams(epochs=6, batch_size=64, learning_rate=0.005)
"""Enough epochs to beat the gate's absolute thresholds on the full sample, in a few seconds on one CPU."""
{%- else %}
FAST = TrainParams(n_estimators=20, learning_rate=0.1, max_depth=2)
"""Enough trees to beat the gate's absolute thresholds on the full sample, in well under a second."""
{%- endif %}


@pytest.fixture(scope="session", autouse=True)
def tracking_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A sqlite tracking store and registry in a temporary folder; nothing touches ./mlflow.db."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.delenv("MLFLOW_RUN_ID", raising=False)
        mlflow.set_tracking_uri(uri)
        experiment_id = mlflow.create_experiment("tests", artifact_location=(root / "artifacts").as_uri())
        patch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
        yield uri


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered-model name of this test's own, so tests never share a champion."""
    return "test-" + re.sub(r"[^A-Za-z0-9-]+", "-", request.node.name).strip("-")


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> PreparedData:
    """The full bundled sample, validated and split."""
    return prepare("sample", tmp_path_factory.mktemp("prepared"))


@pytest.fixture(scope="session")
def tiny_prepared(tmp_path_factory: pytest.TempPathFactory) -> PreparedData:
    """A {{ "TINY_ROWS" }}-row slice of the sample, for tests that only need a model to exist."""
    folder = tmp_path_factory.mktemp("tiny")
    train_rows, test_rows = split(load_sample().head(TINY_ROWS))
    train_rows.to_parquet(folder / TRAIN_FILE, index=False)
    test_rows.to_parquet(folder / TEST_FILE, index=False)
    return PreparedData(folder / TRAIN_FILE, folder / TEST_FILE, TINY_ROWS)


@pytest.fixture(scope="session")
def good_candidate(prepared: PreparedData, tmp_path_factory: pytest.TempPathFactory) -> Candidate:
    """A model trained on the full sample that clears the packaged gate."""
    return train(prepared.train.parent, tmp_path_factory.mktemp("good"), FAST)


@pytest.fixture
def fast_params() -> TrainParams:
    return FAST


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """aml/ and src/ copied, so a test can break a spec without touching the project."""
    for folder in ("aml", "src"):
        shutil.copytree(Path(__file__).resolve().parents[1] / folder, tmp_path / folder)
    return tmp_path


@pytest.fixture(scope="session")
def colour_contract() -> DataContract:
    """The sample's contract plus `colour`, a nullable `category` feature (blue, green, red)."""
    colour = {"name": "colour", "type": "category", "categories": ["blue", "green", "red"], "nullable": True}
    document = CONTRACT.model_dump()
    return DataContract.model_validate({**document, "features": [*document["features"], colour]})
