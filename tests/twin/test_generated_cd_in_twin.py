"""The generated project's CD, for each `deployment` answer, run step by step against the twins of dev, staging and
prod: Azure Pipelines `.azure-pipelines/cd.yml` and GitHub Actions `.github/workflows/cd.yml` (with the reusable
`release.yml`). Correct behaviour: train once in dev, promote to the registry, release that registry version to
staging and prod, creating whatever the release needs, from agents that reach each stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.azure_twin.azure_pipelines import run_azure_pipeline
from tests.support.azure_twin.github_actions import run_github_workflow
from tests.support.azure_twin.model import AzureTwin

pytestmark = pytest.mark.slow
DEPLOYMENTS = ("online", "batch", "both")


def released_everywhere(cloud: AzureTwin, project: Path, deployment: str) -> list[str]:
    """What is wrong with staging and prod after a CD run: each must serve the one promoted registry version."""
    problems = []
    shared = [
        (r.name, name, list(versions))  # version -> its tags
        for s in cloud.deployed()
        for r in s.registries
        for name, versions in r.models.items()
    ]
    if [(name, versions) for _, name, versions in shared] != [(project.name, ["1"])]:
        problems.append(f"registries hold {shared}, expected {project.name} version 1 once")
    uri = f"azureml://registries/{shared[0][0]}/models/{project.name}/versions/1" if shared else "?"
    for stack in ("staging", "prod"):
        workspace = cloud.stacks[stack].workspaces[0]
        online = [e for e in workspace.endpoints.values() if e.kind == "online"]
        batch = [e for e in workspace.endpoints.values() if e.kind == "batch"]
        if deployment in ("online", "both"):
            live = [e.deployments[d].model for e in online for d, share in e.traffic.items() if share == 100]
            if live != [uri]:
                problems.append(f"{stack}: online endpoints serve {live}, expected [{uri}]")
        if deployment in ("batch", "both"):
            defaults = [e.deployments[e.default_deployment].model for e in batch if e.default_deployment]
            if defaults != [uri] or not any(j.job_type == "batch" for j in workspace.jobs.values()):
                problems.append(
                    f"{stack}: batch endpoints default to {defaults} and scored {list(workspace.jobs)}"
                )
            # Batch scoring spreads over every node the stack's CPU cluster may have.
            sizes = [
                e.deployments[e.default_deployment].instance_count for e in batch if e.default_deployment
            ]
            if sizes != [int(cloud.stacks[stack].outputs["cpuClusterMaxNodes"])]:
                problems.append(
                    f"{stack}: batch deployment instance_count {sizes}, expected cpuClusterMaxNodes"
                )
        if any(j.job_type != "batch" for j in workspace.jobs.values()):
            problems.append(f"{stack} trained: {list(workspace.jobs)}")
    # The sweep runs as many trials at once as the dev stack's CPU cluster has nodes (stack output, variable group).
    dev = cloud.stacks["dev"]
    sweeps = [
        j.max_concurrent_trials for w in dev.workspaces for j in w.jobs.values() if j.job_type == "pipeline"
    ]
    if sweeps != [{"train": int(dev.outputs["cpuClusterMaxNodes"])}]:
        problems.append(
            f"dev trained with sweep concurrency {sweeps}, expected cpuClusterMaxNodes {dev.outputs['cpuClusterMaxNodes']}"
        )
    return problems + [f"refused: {call}" for call in cloud.refusals()]


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_azure_pipelines_cd_trains_once_and_releases_the_registry_version(
    cloud, generated, project_copy, deployment
):
    project = project_copy(generated(deployment, "azure-pipelines"))
    run = run_azure_pipeline(project / ".azure-pipelines" / "cd.yml", cloud, project)
    assert run.failures() == [], "\n\n".join(run.failures())
    assert released_everywhere(cloud, project, deployment) == []


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_github_actions_cd_trains_once_and_releases_the_registry_version(
    cloud, generated, project_copy, deployment
):
    """Against the committed stacks: staging and prod (westeurope, private) are reached only through their
    self-hosted runners in a Container Apps job in their VNet (`githubRunsOn`, tests/twin/test_github_runner_jobs_in_twin.py);
    dev through GitHub-hosted runners."""
    project = project_copy(generated(deployment, "github-actions"))
    run = run_github_workflow(project / ".github" / "workflows" / "cd.yml", cloud, project)
    assert run.failures() == [], "\n\n".join(run.failures())
    assert released_everywhere(cloud, project, deployment) == []


def test_github_actions_cd_through_github_private_networking(runner_cloud, generated, project_copy):
    """Against stacks whose GitHub-hosted runners join their VNets (tests/twin/conftest.py `runner_stacks`,
    `githubRunners: private-networking` in northeurope): the same release through runner groups."""
    project = project_copy(generated("online", "github-actions"))
    run = run_github_workflow(project / ".github" / "workflows" / "cd.yml", runner_cloud, project)
    assert run.failures() == [], "\n\n".join(run.failures())
    assert released_everywhere(runner_cloud, project, "online") == []
