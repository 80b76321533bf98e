"""The real `MLClient` adapter: SDK errors become this package's errors, and it implements every Protocol."""

import inspect
import io

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from pipelines.scripts import ado, aml_boundary
from pipelines.scripts.aml_client import AzureMlClient, translated_errors
from pipelines.scripts.errors import DeploymentError, TransientAzureError


def _http_error(status: int) -> HttpResponseError:
    error = HttpResponseError(message=f"status {status}")
    error.status_code = status
    return error


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (_http_error(429), TransientAzureError),
        (_http_error(503), TransientAzureError),
        (_http_error(404), DeploymentError),
        (_http_error(400), DeploymentError),
        (ServiceRequestError("connection reset"), TransientAzureError),
    ],
)
def test_sdk_errors_are_translated(raised, expected):
    with pytest.raises(expected, match="get job j1"), translated_errors("get job j1"):
        raise raised


def test_non_azure_errors_pass_through_untouched():
    with pytest.raises(KeyError), translated_errors("anything"):
        raise KeyError("bug in our code")


@pytest.mark.parametrize(
    "protocol",
    [
        aml_boundary.JobsApi,
        aml_boundary.OnlineEndpointsApi,
        aml_boundary.ModelsApi,
        aml_boundary.BatchEndpointsApi,
        aml_boundary.DiagnosticSettingsApi,
    ],
)
def test_the_adapter_implements_each_protocol_with_the_same_signatures(protocol):
    for name, member in inspect.getmembers(protocol, inspect.isfunction):
        if name.startswith("_"):
            continue
        assert inspect.signature(getattr(AzureMlClient, name)) == inspect.signature(member), name


def test_logging_command_values_cannot_inject_a_second_command():
    stream = io.StringIO()
    ado.set_variable(
        "modelVersion", "1]\n##vso[task.complete result=Succeeded;]", is_output=True, stream=stream
    )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("##vso[task.setvariable variable=modelVersion;isOutput=true]1%5D%0A")


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_deployment_yaml_gets_name_endpoint_and_model_from_the_pipeline(tmp_path):
    # Real azure-ai-ml loader and schema; only the network-facing operations object is stubbed.
    from types import SimpleNamespace

    spec = tmp_path / "online-deployment.yml"
    spec.write_text(
        "name: placeholder\nendpoint_name: placeholder\nmodel: azureml:churn:1\n"
        "instance_type: Standard_DS3_v2\ninstance_count: 1\n"
    )
    applied = []

    class Operations:
        def begin_create_or_update(self, entity):
            applied.append(entity)
            return SimpleNamespace(result=lambda: entity)

    client = AzureMlClient(subscription_id="s", resource_group="r", workspace="w")
    client.__dict__["_ml"] = SimpleNamespace(online_deployments=Operations())
    client.create_or_update_deployment(
        "churn-online", "green", spec, "azureml://registries/reg/models/churn/versions/3"
    )
    (entity,) = applied
    assert (entity.name, entity.endpoint_name) == ("green", "churn-online")
    assert entity.model == "azureml://registries/reg/models/churn/versions/3"
