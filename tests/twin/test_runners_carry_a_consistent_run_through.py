"""The runners themselves: with every name agreeing and every resource reachable, a whole pipeline goes through,
outputs travelling between steps, jobs and stages as Azure Pipelines and GitHub Actions pass them. Here the
twin's workspaces are opened to the public network and the endpoints and the training environment created
beforehand, so only the plumbing is under test (the network and the names are tested with the stacks as they
are, in the other twin tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.validation.documents import PIPELINES_ROOT
from tests.support.azure_twin.azure_pipelines import run_azure_pipeline
from tests.support.azure_twin.github_actions import run_github_workflow
from tests.support.azure_twin.model import AzureTwin, Endpoint
from tests.twin.ml_layout import ML_PARAMETERS, ml_project

ENDPOINT, MODEL = str(ML_PARAMETERS["onlineEndpoint"]), str(ML_PARAMETERS["modelName"])

pytestmark = pytest.mark.slow


def _opened(cloud: AzureTwin, endpoints: dict[str, str], environment: str = "") -> AzureTwin:
    for stack in cloud.stacks.values():
        workspace = stack.workspaces[0]
        workspace.public_network_access = True
        workspace.endpoints = {name: Endpoint(name=name, kind=kind) for name, kind in endpoints.items()}
        if environment:
            workspace.environments[environment] = ["1"]
        for registry in stack.registries:
            registry.public_network_access = True
    return cloud


def test_ml_yml_outputs_flow_from_training_to_both_releases(cloud, tmp_path, generated):
    cloud = _opened(cloud, {ENDPOINT: "online"})
    registry = cloud.stacks["prod"].outputs["amlRegistryName"]
    cloud.stacks["dev"].outputs["amlRegistryName"] = registry  # dev promotes into prod's registry
    run = run_azure_pipeline(
        PIPELINES_ROOT / "ml.yml",
        cloud,
        ml_project(tmp_path, cloud.stacks["dev"], generated("both", "azure-pipelines")),
    )
    assert run.failures() == [], "\n\n".join(run.failures())
    waits = [
        key
        for key, result in run.results.items()
        if key.startswith("Train.train_wait_") and result != "Skipped"
    ]
    assert waits == ["Train.train_wait_1"], "the job completed during the first attempt: no re-queue"
    job = next(iter(cloud.stacks["dev"].workspaces[0].jobs))
    assert run.outputs["Train.train"]["verdict.amlJobName"] == job
    uri = f"azureml://registries/{registry}/models/{MODEL}/versions/1"
    assert run.outputs["Train.register_model"]["register.registryModelUri"] == uri
    for stack in ("staging", "prod"):
        endpoint = cloud.stacks[stack].workspaces[0].endpoints[ENDPOINT]
        assert (endpoint.traffic, endpoint.deployments["blue"].model) == ({"blue": 100}, uri)
        assert len(cloud.stacks[stack].workspaces[0].diagnostic_settings) == 2, "endpoint and its deployment"
    assert cloud.refusals() == []


def test_github_actions_outputs_flow_from_submission_to_the_wait_jobs(cloud, generated, project_copy):
    project = project_copy(generated("online", "github-actions"))
    cloud = _opened(cloud, {}, environment=f"{project.name}-env")
    run = run_github_workflow(project / ".github" / "workflows" / "cd.yml", cloud, project)
    job = next(iter(cloud.stacks["dev"].workspaces[0].jobs))
    submitted = "".join(s.output for s in run.steps if s.job == "train_submit")
    assert f"variable=amlJobName;isOutput=true]{job}" in submitted
    assert run.results["train_wait_1"] == "success" and "train_wait_2" not in run.results, (
        "Done after attempt 1"
    )
    # The final job waits for the job named through needs.train_submit.outputs.job (empty would fail its script).
    assert run.results["train"] == "success"


def _rename_datastore(cloud: AzureTwin, project: Path) -> str:
    # The datastore the run reads: prod's curated data lake, which batch scoring names (the generated project
    # trains from its sample data, so dev's datastores are not read by ml.yml's defaults).
    workspace = cloud.stacks["prod"].workspaces[0]
    old = next(n for n in cloud.stacks["prod"].outputs["dataLakeDatastoreNames"] if n.endswith("_curated"))
    workspace.datastores = [f"{name}_v2" if name == old else name for name in workspace.datastores]
    return f"datastores/{old}'"


def _rename_registry(cloud: AzureTwin, project: Path) -> str:
    cloud.stacks["prod"].registries[0].name += "x"
    return "registries/"


def _rename_endpoint(cloud: AzureTwin, project: Path) -> str:
    endpoints = cloud.stacks["staging"].workspaces[0].endpoints
    endpoints[f"{ENDPOINT}-v2"] = endpoints.pop(ENDPOINT).model_copy(update={"name": f"{ENDPOINT}-v2"})
    spec = project / "aml" / "online" / "endpoint.yml"  # where CD creates the endpoint from, if it does
    if spec.is_file():
        spec.write_text(spec.read_text().replace(f"name: {ENDPOINT}\n", f"name: {ENDPOINT}-v2\n"))
    return f"onlineEndpoints/{ENDPOINT}'"


def _rename_output(cloud: AzureTwin, project: Path) -> str:
    outputs = cloud.stacks["dev"].outputs
    outputs["workspace"] = outputs.pop("workspaceName")
    return "workspaceName|$(AML_WORKSPACE)"  # the mapping refuses the group, or the variable stays unexpanded


def _rename_variable(cloud: AzureTwin, project: Path) -> str:
    from tests.support.azure_twin import azure_pipelines

    mapped = azure_pipelines.group_variables
    azure_pipelines.group_variables = lambda outputs: {
        ("AML_WORKSPACE_NAME" if key == "AML_WORKSPACE" else key): value
        for key, value in mapped(outputs).items()
    }
    return "AML_WORKSPACE"


@pytest.mark.parametrize(
    "rename", [_rename_datastore, _rename_registry, _rename_endpoint, _rename_output, _rename_variable]
)
def test_a_rename_in_any_one_part_fails_the_run(cloud, tmp_path, monkeypatch, generated, rename):
    """The same consistent run as above, with one name changed on one side only: the twin refuses it and the
    failure names what was renamed."""
    from tests.support.azure_twin import azure_pipelines

    monkeypatch.setattr(azure_pipelines, "group_variables", azure_pipelines.group_variables)
    cloud = _opened(cloud, {ENDPOINT: "online"})
    cloud.stacks["dev"].outputs["amlRegistryName"] = cloud.stacks["prod"].outputs["amlRegistryName"]
    project = ml_project(tmp_path, cloud.stacks["dev"], generated("both", "azure-pipelines"))
    renamed = rename(cloud, project).split("|")
    # With batch scoring, the run also reads a datastore (prod's data lake) and uses a batch endpoint.
    run = run_azure_pipeline(PIPELINES_ROOT / "ml.yml", cloud, project, {"runBatchScoring": True})
    assert run.failures(), "a renamed part must fail the run"
    assert any(marker in "\n".join(run.failures()) for marker in renamed), renamed
