"""The runners themselves: with every name agreeing and every resource reachable, a whole pipeline goes through,
outputs travelling between steps, jobs and stages as Azure Pipelines and GitHub Actions pass them. Here the
twin's workspaces are opened to the public network and the endpoints and the training environment created
beforehand, so only the plumbing is under test (the network and the names are tested with the stacks as they
are, in the other twin tests)."""

from __future__ import annotations

import pytest

from pipelines.validation.documents import PIPELINES_ROOT
from tests.support.azure_twin.azure_pipelines import run_azure_pipeline
from tests.support.azure_twin.github_actions import run_github_workflow
from tests.support.azure_twin.model import AzureTwin, Endpoint
from tests.twin.ml_layout import ml_layout_project

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


def test_ml_yml_outputs_flow_from_training_to_both_releases(cloud, tmp_path):
    cloud = _opened(cloud, {"model-online": "online"})
    registry = cloud.stacks["prod"].outputs["amlRegistryName"]
    cloud.stacks["dev"].outputs["amlRegistryName"] = registry  # dev promotes into prod's registry
    run = run_azure_pipeline(
        PIPELINES_ROOT / "ml.yml", cloud, ml_layout_project(tmp_path, cloud.stacks["dev"])
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
    uri = f"azureml://registries/{registry}/models/model/versions/1"
    assert run.outputs["Train.register_model"]["register.registryModelUri"] == uri
    for stack in ("staging", "prod"):
        endpoint = cloud.stacks[stack].workspaces[0].endpoints["model-online"]
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
