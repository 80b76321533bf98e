"""The monitor's reference data: the champion's training split as an MLTable Azure ML can read, and its address."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import governance, reference
from {{ cookiecutter.package_name }}.evaluate import judge
from {{ cookiecutter.package_name }}.gate import GateConfig
from {{ cookiecutter.package_name }}.handoff import Candidate, Registration
from {{ cookiecutter.package_name }}.prep import PreparedData
from {{ cookiecutter.package_name }}.register import main as register_main
from {{ cookiecutter.package_name }}.settings import MODEL_NAME


def test_the_reference_table_is_the_training_split_in_an_mltable(
    prepared: PreparedData, tmp_path: Path
) -> None:
    mltable = reference.write_mltable(prepared.train.parent, tmp_path / "reference")

    document = yaml.safe_load(mltable.read_text(encoding="utf-8"))
    assert document["type"] == "mltable"
    assert document["paths"] == [{"file": f"./{reference.DATA_FILE}"}]
    assert document["transformations"] == [{"read_parquet": {"include_path_column": False}}]
    table = pd.read_parquet(mltable.parent / document["paths"][0]["file"])
    pd.testing.assert_frame_equal(table, pd.read_parquet(prepared.train))


def test_azure_ml_accepts_the_mltable_file(prepared: PreparedData, tmp_path: Path) -> None:
    pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")
    from azure.ai.ml.entities._data.mltable_metadata import MLTableMetadata

    metadata = MLTableMetadata.load(reference.write_mltable(prepared.train.parent, tmp_path / "reference"))
    assert [path.value for path in metadata.paths] == [f"./{reference.DATA_FILE}"]


def test_a_registry_models_reference_is_the_same_version_in_the_same_registry() -> None:
    uri = reference.reference_for_model(f"azureml://registries/shared/models/{MODEL_NAME}/versions/12")
    assert uri == f"azureml://registries/shared/data/{reference.REFERENCE_DATA_NAME}/versions/12"
    for not_promoted in (f"azureml:{MODEL_NAME}:12", f"models:/{MODEL_NAME}@champion", ""):
        with pytest.raises(reference.NotARegistryModelError):
            reference.reference_for_model(not_promoted)


def test_the_register_step_writes_the_table_and_tags_the_event(
    good_candidate: Candidate, prepared: PreparedData, model_name: str, tmp_path: Path
) -> None:
    """What aml/pipeline.yml's `register` runs: the table goes to the output Azure ML registers as a data asset."""
    verdict = judge(good_candidate, pd.read_parquet(prepared.test), GateConfig.load(), model_name)
    verdict.write(tmp_path / "verdict")

    code = register_main([
        "--verdict", str(tmp_path / "verdict"), "--model-name", model_name, "--output", str(tmp_path / "registered"),
        "--prepared", str(prepared.train.parent), "--reference-data", str(tmp_path / "reference"),
        "--triggering-event-id", "evt-9",
    ])  # fmt: skip

    assert code == 0
    version = Registration.read(tmp_path / "registered").version
    assert (tmp_path / "reference" / reference.MLTABLE_FILE).is_file()
    assert MlflowClient().get_model_version(model_name, version).tags[governance.TRIGGERING_EVENT] == "evt-9"


def test_register_writes_the_table_only_with_both_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        register_main(["--verdict", str(tmp_path), "--reference-data", str(tmp_path / "reference")])
    assert "--prepared and --reference-data go together" in capsys.readouterr().err
