"""GitHub jobs against the COMMITTED stacks' twins: staging and prod (westeurope, private) run their GitHub jobs on
self-hosted runners of a Container Apps job in their VNet, selected by `runs-on: ${{ fromJSON(vars.AML_RUNS_ON) }}`
(a list of labels: the runner must have every one,
https://docs.github.com/en/actions/using-jobs/choosing-the-runner-for-a-job); a GitHub-hosted runner stays outside
every VNet and the twin refuses its calls to a private endpoint, as Azure does. The whole generated CD against these
twins: tests/twin/test_generated_cd_in_twin.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.azure_twin.caller import Caller
from tests.support.azure_twin.from_plan import plan_of
from tests.support.azure_twin.github_actions import run_github_workflow
from tests.support.azure_twin.model import AzureTwin, StackTwin
from tests.twin.conftest import GITHUB_PROBE

PROBE = GITHUB_PROBE.replace("CALLER_VARIABLE", "AZURE_TWIN_CALLER_RUNNER_LABELS")


def _label(twin: StackTwin) -> str:
    runs_on = twin.outputs["githubRunsOn"]
    assert isinstance(runs_on, list) and runs_on[0] == "self-hosted"
    return runs_on[1]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_committed_private_stacks_runner_labels_are_the_labels_their_job_scales_on(
    stack_twins: dict[str, StackTwin], stack: str
) -> None:
    """The label the twin places inside the VNet is the one the stack's Container Apps job counts queued jobs for
    (KEDA github-runner `labels`, https://keda.sh/docs/latest/scalers/github-runner/) and its runners register
    with, in an internal environment on the VNet's runner subnet."""
    plan = plan_of(stack)
    job = plan.one("azure-native:app:Job").inputs
    (rule,) = job["configuration"]["eventTriggerConfig"]["scale"]["rules"]
    env = {e["name"]: e.get("value") for e in job["template"]["containers"][0]["env"]}
    assert rule["metadata"]["labels"] == env["RUNNER_LABELS"] == _label(stack_twins[stack])
    environment = plan.one("azure-native:app:ManagedEnvironment").inputs["vnetConfiguration"]
    assert environment["internal"] is True
    assert environment["infrastructureSubnetId"].startswith(
        plan.one("azure-native:network:VirtualNetwork").resource_id + "/subnets/"
    )


def test_consumers_share_on_the_registry_owners_runners(stack_twins: dict[str, StackTwin]) -> None:
    assert stack_twins["dev"].outputs["githubRunsOn"] == ""
    prod = stack_twins["prod"].outputs["githubRunsOn"]
    assert [stack_twins[s].outputs["amlRegistryGithubRunsOn"] for s in ("dev", "staging", "prod")] == [
        prod
    ] * 3


@pytest.mark.parametrize(
    ("labels_of", "inside"),
    [
        ("staging", ["staging"]),
        ("prod", ["prod"]),
        ("prod+defaults", ["prod"]),
        ("someone-else", []),
        ("hosted", []),
    ],
)
def test_a_job_runs_inside_the_vnet_of_the_stack_whose_runners_have_its_labels(
    cloud: AzureTwin, labels_of: str, inside: list[str]
) -> None:
    runs_on: object = {
        "staging": ["self-hosted", _label(cloud.stacks["staging"])],
        "prod": ["self-hosted", _label(cloud.stacks["prod"])],
        "prod+defaults": ["self-hosted", "linux", "x64", _label(cloud.stacks["prod"])],
        "someone-else": ["self-hosted", "mlops-prod-000000"],
        "hosted": "ubuntu-24.04",
    }[labels_of]
    caller = Caller.from_runs_on(runs_on)
    assert [s.stack for s in caller.networks(cloud)] == inside
    for stack in ("staging", "prod"):
        workspace = cloud.stacks[stack].workspaces[0].resource_id
        # A private endpoint answers only inside its VNet: a hosted runner, or another stack's runner, is refused.
        assert caller.reaches(cloud, workspace, public=False) == (inside == [stack])


@pytest.mark.parametrize("environment", ["staging", "prod", "dev"])
def test_a_github_job_of_a_committed_stack_runs_where_its_environments_runs_on_says(
    cloud: AzureTwin, tmp_path: Path, environment: str
) -> None:
    """AML_RUNS_ON (written from githubRunsOn) puts staging's and prod's jobs on their own runners, dev's on
    GitHub-hosted ones; the share job on prod's runners (AML_REGISTRY_RUNS_ON of `promotion`)."""
    workflow = tmp_path / "probe.yml"
    workflow.write_text(PROBE.replace("ENVIRONMENT", environment), encoding="utf-8")
    run = run_github_workflow(workflow, cloud, tmp_path)
    assert run.failures() == []
    probe, share = run.steps
    runs_on = cloud.stacks[environment].outputs["githubRunsOn"]
    assert probe.output.strip() == (",".join(runs_on) if runs_on else "")
    assert probe.caller == (
        f"self-hosted GitHub runner {runs_on!r}" if runs_on else "Microsoft-hosted agent (ubuntu-24.04)"
    )
    assert share.caller == f"self-hosted GitHub runner {cloud.stacks['prod'].outputs['githubRunsOn']!r}"
