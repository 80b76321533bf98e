"""teardown.yml run against the twin of a private ephemeral stack with Databricks (staging's stack file with
Databricks on, as stack `pr-42`) and of a public one (dev's, as `pr-43`).

The twin deletes what `pulumi destroy` names, each delete checked as Azure checks it: a Databricks object through
its workspace's API, which a private workspace answers only from inside its VNet; everything else through ARM.
"""

from __future__ import annotations

import pytest

from infra.plan.engine import run_program
from infra.plan.scenarios import DATABRICKS_SETTINGS
from infra.plan.stack_files import load_stack_config
from pipelines.scripts.teardown_scope import data_plane_urns
from pipelines.validation.documents import PIPELINES_ROOT
from tests.support.azure_twin.azure_pipelines import run_azure_pipeline
from tests.support.azure_twin.from_plan import REPO, stack_twin
from tests.support.azure_twin.model import AzureTwin, StackTwin

pytestmark = pytest.mark.slow

PRIVATE, PUBLIC = "pr-42", "pr-43"
TEARDOWN = PIPELINES_ROOT / "teardown.yml"


@pytest.fixture(scope="session")
def ephemeral_twins() -> dict[str, StackTwin]:
    private = load_stack_config(REPO, "staging")
    private.update({f"azure-mlops:{key}": value for key, value in DATABRICKS_SETTINGS.items()})
    return {
        PRIVATE: stack_twin(run_program(PRIVATE, private)),
        PUBLIC: stack_twin(run_program(PUBLIC, load_stack_config(REPO, "dev"))),
    }


@pytest.fixture
def twin(ephemeral_twins: dict[str, StackTwin]) -> AzureTwin:
    """Both stacks deployed, as a pull request's pipeline left them."""
    return AzureTwin(
        stacks={
            name: t.model_copy(deep=True, update={"deployed": True}) for name, t in ephemeral_twins.items()
        }
    )


def _data_plane(stack: StackTwin) -> set[str]:
    return set(data_plane_urns([{"urn": r.urn, "type": r.type, "custom": True} for r in stack.resources]))


def test_the_private_stack_has_data_plane_resources_only_its_vnet_reaches(twin: AzureTwin) -> None:
    stack = twin.stacks[PRIVATE]
    assert _data_plane(stack) == {r.urn for r in stack.resources if r.data_plane_of}
    assert _data_plane(stack) and not any(r.public for r in stack.resources if r.data_plane_of)
    assert stack.outputs["agentPoolName"]


def test_a_private_stack_is_torn_down_data_plane_first_from_its_pool_then_the_rest_from_hosted_agents(
    twin: AzureTwin,
) -> None:
    stack = twin.stacks[PRIVATE]
    pool, data_plane = stack.outputs["agentPoolName"], _data_plane(stack)
    run = run_azure_pipeline(TEARDOWN, twin, REPO, {"stack": PRIVATE, "agentPool": pool})
    assert run.failures() == [], "\n\n".join(run.failures())
    assert run.results == {
        "DataPlane.destroy_data_plane": "Succeeded",
        "Teardown.destroy": "Succeeded",
    }
    assert PRIVATE not in twin.stacks  # destroyed, then `pulumi stack rm`
    assert twin.refusals() == []
    deleted_by = {call.target: call.caller for call in twin.calls if call.operation == "pulumi destroy"}
    assert {urn for urn, caller in deleted_by.items() if caller == f"agent pool {pool!r}"} == data_plane
    assert all("Microsoft-hosted" in caller for urn, caller in deleted_by.items() if urn not in data_plane)
    assert len(deleted_by) == len(stack.resources)


def test_the_twin_refuses_the_data_plane_deletes_from_a_hosted_agent(twin: AzureTwin) -> None:
    """Queued with Azure Pipelines' hosted pool in place of the stack's own, the first data-plane delete is refused
    as the private workspace refuses it, and nothing after it runs."""
    before = len(twin.stacks[PRIVATE].resources)
    run = run_azure_pipeline(TEARDOWN, twin, REPO, {"stack": PRIVATE, "agentPool": "Azure Pipelines"})
    assert run.results == {"DataPlane.destroy_data_plane": "Failed"}
    (refused,) = twin.refusals()
    assert refused.target in _data_plane(twin.stacks[PRIVATE]) and "Microsoft-hosted" in refused.caller
    assert "Unauthorized network access to workspace" in refused.refused
    assert twin.stacks[PRIVATE].deployed and len(twin.stacks[PRIVATE].resources) == before


def test_a_private_stack_queued_without_its_pool_is_refused_naming_the_pool_before_any_delete(
    twin: AzureTwin,
) -> None:
    pool = twin.stacks[PRIVATE].outputs["agentPoolName"]
    before = len(twin.stacks[PRIVATE].resources)
    run = run_azure_pipeline(TEARDOWN, twin, REPO, {"stack": PRIVATE})
    assert list(run.results) == ["Teardown.destroy"] and run.results["Teardown.destroy"] == "Failed"
    (failure,) = run.failures()
    assert f"queue teardown.yml with agentPool: {pool}" in failure
    assert [c for c in twin.calls if c.operation == "pulumi destroy"] == []
    assert len(twin.stacks[PRIVATE].resources) == before


def test_a_public_stack_is_torn_down_from_hosted_agents_alone(twin: AzureTwin) -> None:
    run = run_azure_pipeline(TEARDOWN, twin, REPO, {"stack": PUBLIC})
    assert run.failures() == [], "\n\n".join(run.failures())
    assert run.results == {"Teardown.destroy": "Succeeded"}
    assert PUBLIC not in twin.stacks and twin.refusals() == []


def test_the_guard_still_refuses_a_long_lived_stack_before_anything_runs(
    twin: AzureTwin, ephemeral_twins: dict[str, StackTwin]
) -> None:
    twin.stacks["staging"] = ephemeral_twins[PRIVATE].model_copy(
        deep=True, update={"deployed": True, "stack": "staging"}
    )
    pool = twin.stacks["staging"].outputs["agentPoolName"]
    run = run_azure_pipeline(TEARDOWN, twin, REPO, {"stack": "staging", "agentPool": pool})
    assert run.results == {"DataPlane.destroy_data_plane": "Failed"}
    (failure,) = run.failures()
    assert "Teardown guard" in failure and "--stack 'staging' names protected environment(s)" in failure
    assert twin.calls == [] and twin.stacks["staging"].deployed
