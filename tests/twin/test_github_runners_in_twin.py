"""GitHub jobs in the twin run where their `runs-on` puts them: a GitHub-hosted label outside every VNet, a runner
group inside the VNet of the stack whose `githubRunnerGroup` output names it (GitHub-hosted runners with Azure
private networking:
https://docs.github.com/en/organizations/managing-organization-settings/about-azure-private-networking-for-github-hosted-runners-in-your-organization).

The committed private stacks are in westeurope, where GitHub offers no private networking (they use self-hosted
runners in a Container Apps job: tests/twin/test_github_runner_jobs_in_twin.py); the twin here is built from a
variant of the stack files with staging and prod in northeurope and `githubRunners: private-networking` (their
registry references derived from that variant, as the program derives them from the committed files).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.azure_twin.caller import Caller
from tests.support.azure_twin.github_actions import run_github_workflow
from tests.support.azure_twin.model import AzureTwin, StackTwin
from tests.twin.conftest import GITHUB_PROBE
from tests.twin.conftest import RUNNER_GROUPS as GROUPS

PROBE = GITHUB_PROBE.replace("CALLER_VARIABLE", "AZURE_TWIN_CALLER_RUNNER_GROUP")


def test_the_variant_stacks_export_their_runner_groups(runner_stacks: dict[str, StackTwin]) -> None:
    assert {s: t.outputs["githubRunnerGroup"] for s, t in runner_stacks.items()} == {"dev": "", **GROUPS}
    # dev and staging share into prod's registry: prod's group runs that job.
    assert runner_stacks["dev"].outputs["amlRegistryGithubRunsOn"] == {"group": "mlops-prod"}


@pytest.mark.parametrize(
    ("runs_on", "inside"),
    [
        ({"group": "mlops-prod"}, ["prod"]),
        ({"group": "mlops-staging"}, ["staging"]),
        ({"group": "someone-elses-group"}, []),
        ("ubuntu-24.04", []),
        ({"labels": ["ubuntu-24.04"]}, []),
    ],
)
def test_a_runner_group_is_inside_the_vnet_of_the_stack_that_exports_it(
    runner_cloud: AzureTwin, runs_on: object, inside: list[str]
) -> None:
    caller = Caller.from_runs_on(runs_on)
    assert [s.stack for s in caller.networks(runner_cloud)] == inside
    prod_workspace = runner_cloud.stacks["prod"].workspaces[0]
    assert caller.reaches(runner_cloud, prod_workspace.resource_id, public=False) == (inside == ["prod"])


def test_a_runner_group_no_stack_exports_stays_outside_even_if_a_pool_has_its_name(
    runner_cloud: AzureTwin,
) -> None:
    """A group and an Azure DevOps pool are different things: a group named like a pool is not that pool."""
    pool = runner_cloud.stacks["prod"].outputs["agentPoolName"]
    assert Caller(pool=pool).networks(runner_cloud) and not Caller(runner_group=pool).networks(runner_cloud)


@pytest.mark.parametrize(("environment", "expected"), [("prod", "mlops-prod"), ("dev", "")])
def test_a_github_job_runs_where_its_environments_runs_on_says(
    runner_cloud: AzureTwin, tmp_path: Path, environment: str, expected: str
) -> None:
    """The workflow reads AML_RUNS_ON with fromJSON: prod's jobs land in prod's VNet, dev's on GitHub-hosted
    runners; the share job on the registry owner's group (AML_REGISTRY_RUNS_ON of `promotion`)."""
    workflow = tmp_path / "probe.yml"
    workflow.write_text(PROBE.replace("ENVIRONMENT", environment), encoding="utf-8")
    run = run_github_workflow(workflow, runner_cloud, tmp_path)
    assert run.failures() == []
    probe, share = run.steps
    assert probe.output.strip() == expected
    assert probe.caller == (
        f"GitHub runner group {expected!r}" if expected else "Microsoft-hosted agent (ubuntu-24.04)"
    )
    assert share.caller == "GitHub runner group 'mlops-prod'"
