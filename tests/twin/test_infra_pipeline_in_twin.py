"""infra.yml run step by step (its expanded YAML, in order) against the twins of dev, staging and prod: `pulumi`,
`az` and the Python entry points answered by the twin, each job's agent located by its `pool`."""

from __future__ import annotations

import pytest

from pipelines.validation.documents import PIPELINES_ROOT
from tests.support.azure_twin.azure_pipelines import run_azure_pipeline
from tests.support.azure_twin.from_plan import REPO, STACKS, cloud_of
from tests.support.azure_twin.variables import group_name, group_variables

pytestmark = pytest.mark.slow


def test_main_deploys_each_stack_then_publishes_its_lifecycle_handler_from_a_network_that_reaches_it(
    stack_twins,
):
    """A function app with public network access disabled takes deployments only through its private endpoint:
    its SCM site refuses other clients with 403 (https://learn.microsoft.com/en-us/azure/app-service/
    overview-access-restrictions). The twin starts with nothing deployed: each stack exists once its `pulumi up` ran.
    """
    cloud = cloud_of(stack_twins, deployed=False)
    run = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO)
    assert run.failures() == [], "\n\n".join(run.failures())
    assert {stack: cloud.stacks[stack].deployed for stack in STACKS} == dict.fromkeys(STACKS, True)
    for stack in STACKS:
        for app in cloud.stacks[stack].function_apps:
            assert app.packages == ["lifecycle_events.zip"], f"{stack}: handler {app.name} was not published"
    assert cloud.refusals() == []
    for stack in STACKS:  # CONTRACT.md: the infra pipeline fills each group right after the stack's deploy
        written = cloud.variable_groups.get(group_name(stack), {}).get("variables", {})
        assert {k: v["value"] for k, v in written.items()} == group_variables(cloud.stacks[stack].outputs), (
            stack
        )
    ran = [key.split(".")[0] for key, result in run.results.items() if result == "Succeeded"]
    assert list(dict.fromkeys(ran)) == [
        f"{kind}_{stack}" for stack in STACKS for kind in ("Deploy", "Publish")
    ]


def test_a_pull_request_previews_every_stack_and_deploys_none(stack_twins):
    cloud = cloud_of(stack_twins, deployed=False)
    run = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO, build_reason="PullRequest")
    assert run.failures() == [], "\n\n".join(run.failures())
    assert {key for key, result in run.results.items() if result == "Succeeded"} == {
        f"Preview.preview_{stack}" for stack in STACKS
    }
    assert not any(stack.deployed for stack in cloud.stacks.values())
    assert cloud.calls == []
