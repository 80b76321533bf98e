"""The generated project's CD, for each `deployment` answer, run step by step against the twins of dev, staging and
prod: Azure Pipelines `.azure-pipelines/cd.yml` and GitHub Actions `.github/workflows/cd.yml` (with the reusable
`release.yml`). Correct behaviour: train once in dev, promote to the registry, release that registry version to
staging and prod, creating whatever the release needs, from agents that reach each stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.scripts.stack_variables import GROUP_PREFIX, HOSTED_IMAGE
from tests.support.azure_twin.azure_pipelines import CompileError, expanded, run_azure_pipeline
from tests.support.azure_twin.caller import Caller
from tests.support.azure_twin.from_plan import REPO
from tests.support.azure_twin.github_actions import run_github_workflow
from tests.support.azure_twin.model import AzureTwin
from tests.support.azure_twin.run import PipelineRun
from tests.templates.generation import template_answers

pytestmark = pytest.mark.slow
DEPLOYMENTS = ("online", "batch", "both")
PLATFORM = {str(template_answers()["platform_repository"]): REPO}
"""The platform's repository, as the generated cd.yml's repository resource names it: this checkout."""
SHARING_JOBS = {"promote"}
"""The job that shares into the Azure ML registry: on the registry owner's pool."""


def jobs_off_their_stacks_agent(cd: Path, run: PipelineRun, cloud: AzureTwin) -> tuple[list[str], set[str]]:
    """(`stage.job: agent` of every job that ran elsewhere than on the pool of the stack whose variable group its
    stage links, the jobs checked). The pool is the stack's output agentPoolName (Microsoft-hosted when empty), the
    registry owner's (amlRegistryAgentPoolName) for the job that shares into the registry; `request` checks the
    run's parameters only and runs hosted."""
    wrong, checked = [], set()
    for stage in expanded(cd, repositories=PLATFORM)["stages"]:
        groups = [v["group"] for v in stage.get("variables") or [] if isinstance(v, dict) and "group" in v]
        (stack,) = [g.removeprefix(GROUP_PREFIX) for g in groups if g.startswith(GROUP_PREFIX)]
        outputs = cloud.stacks[stack].outputs
        for job in stage["jobs"]:
            name = job.get("job") or job.get("deployment")
            key = f"{stage['stage']}.{name}"
            if key not in run.callers:
                continue  # skipped (a wait attempt the job did not need)
            pool = (
                ""
                if name == "request"
                else outputs["amlRegistryAgentPoolName" if name in SHARING_JOBS else "agentPoolName"]
            )
            wanted = Caller.from_pool({"name": pool} if pool else {"vmImage": HOSTED_IMAGE})
            checked.add(key)
            if run.callers[key] != str(wanted):
                wrong.append(f"{key}: {run.callers[key]}, expected {wanted}")
    return wrong, checked


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
    """Each job on the pool of the stack it touches, named at compile time from the platform's pools template
    (read from this repository through cd.yml's repository resource)."""
    project = project_copy(generated(deployment, "azure-pipelines"))
    cd = project / ".azure-pipelines" / "cd.yml"
    run = run_azure_pipeline(cd, cloud, project, repositories=PLATFORM)
    assert run.failures() == [], "\n\n".join(run.failures())
    assert released_everywhere(cloud, project, deployment) == []
    wrong, checked = jobs_off_their_stacks_agent(cd, run, cloud)
    assert wrong == []
    assert {"Promote.promote", "Release_staging.assets", "Release_prod.assets", "Train.train"} <= checked


@pytest.mark.parametrize(
    ("edit", "repositories", "refusal"),
    [
        (
            ("@platform", "@platfrom"),
            PLATFORM,
            r"repository alias 'platfrom' is not declared in resources.repositories",
        ),
        (
            ("", ""),
            {next(iter(PLATFORM)): Path("/nonexistent")},
            r"variables/pools.yml' is not a file in repository",
        ),
        (("", ""), {}, r"has no local checkout to read it from"),
    ],
    ids=["unknown-alias", "file-not-in-repository", "repository-not-given"],
)
def test_a_cd_whose_pools_template_cannot_be_read_fails_before_any_job_runs(
    cloud, generated, project_copy, edit, repositories, refusal
):
    """Azure DevOps compiles the YAML before a job starts: a template it cannot find fails the whole run.
    https://learn.microsoft.com/azure/devops/pipelines/process/templates#use-other-repositories
    """
    project = project_copy(generated("online", "azure-pipelines"))
    cd = project / ".azure-pipelines" / "cd.yml"
    cd.write_text(cd.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    with pytest.raises(CompileError, match=refusal):
        run_azure_pipeline(cd, cloud, project, repositories=repositories)
    assert [w for s in cloud.deployed() for w in s.workspaces if w.jobs or w.endpoints] == []


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
