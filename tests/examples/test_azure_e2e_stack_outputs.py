"""Stack outputs: read from a JSON file (as `pulumi stack output --json` prints them), every rule named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure_e2e.errors import StackOutputsError
from azure_e2e.stack_outputs import StackOutputs, load

OUTPUTS: dict[str, Any] = {
    "subscriptionId": "00000000-0000-0000-0000-000000000001",
    "resourceGroupName": "rg-mlops-dev-weu",
    "location": "westeurope",
    "workspaceName": "mlw-mlops-dev-weu",
    "mlflowTrackingUri": "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-mlops-dev-weu/providers/Microsoft.MachineLearningServices/workspaces/mlw-mlops-dev-weu",
    "cpuClusterName": "cpu-cluster",
    "cpuClusterMaxNodes": 2,
    "dataLakeDatastoreNames": ["datalake_raw", "datalake_curated"],
    "amlRegistryName": "mlreg-mlops",
}


def write_outputs(folder: Path, **changes: Any) -> Path:
    path = folder / "outputs.json"
    path.write_text(
        json.dumps({key: value for key, value in {**OUTPUTS, **changes}.items() if value is not None})
    )
    return path


def test_a_saved_output_file_is_read_and_typed(tmp_path: Path) -> None:
    outputs = load(outputs_file=write_outputs(tmp_path), stack=None, cwd=tmp_path)
    assert outputs == StackOutputs(
        subscription_id=OUTPUTS["subscriptionId"],
        resource_group="rg-mlops-dev-weu",
        workspace="mlw-mlops-dev-weu",
        location="westeurope",
        mlflow_tracking_uri=OUTPUTS["mlflowTrackingUri"],
        cpu_cluster="cpu-cluster",
        cpu_cluster_max_nodes=2,
        aml_registry="mlreg-mlops",
        datastores=("datalake_raw", "datalake_curated"),
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"workspaceName": None}, "output 'workspaceName' is missing"),
        ({"subscriptionId": "my-sub"}, "output 'subscriptionId' = 'my-sub': must be a subscription GUID"),
        (
            {"amlRegistryName": ""},
            "output 'amlRegistryName' is empty: promotion needs the shared Azure ML registry",
        ),
        (
            {"mlflowTrackingUri": "http://localhost:5000"},
            "'mlflowTrackingUri' = 'http://localhost:5000': must start with azureml://",
        ),
        ({"dataLakeDatastoreNames": "raw"}, "'dataLakeDatastoreNames' = 'raw': must be a list of names"),
        (
            {"cpuClusterMaxNodes": "2"},
            "'cpuClusterMaxNodes' = '2': must be a whole number of nodes, 1 or more",
        ),
        ({"cpuClusterMaxNodes": 0}, "'cpuClusterMaxNodes' = 0: must be a whole number of nodes, 1 or more"),
    ],
)
def test_bad_outputs_name_the_output_the_value_and_the_rule(
    tmp_path: Path, changes: dict, named: str
) -> None:
    with pytest.raises(StackOutputsError, match=rf"^--outputs-file {tmp_path}/outputs.json: .*") as caught:
        load(outputs_file=write_outputs(tmp_path, **changes), stack=None, cwd=tmp_path)
    assert named in str(caught.value)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "outputs.json").write_text("{not json")
    with pytest.raises(StackOutputsError, match=r"--outputs-file '.*outputs.json': not a readable JSON file"):
        load(outputs_file=tmp_path / "outputs.json", stack=None, cwd=tmp_path)


def test_without_the_pulumi_cli_the_error_offers_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no pulumi
    with pytest.raises(StackOutputsError, match=r"Pulumi CLI is not on PATH.*--outputs-file"):
        load(outputs_file=None, stack="dev", cwd=tmp_path)
