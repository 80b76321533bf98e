"""The twin holds what each stack's offline plan declares, under the names its outputs publish, and reads
resource types generically (a Managed DevOps Pool appears as soon as the program declares one)."""

from __future__ import annotations

import pytest

from tests.support.azure_twin.caller import Caller
from tests.support.azure_twin.from_plan import cloud_of


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_workspace_is_the_one_the_outputs_name_with_the_stacks_datastores_and_compute(
    stack_twins, stack
):
    twin = stack_twins[stack]
    (workspace,) = twin.workspaces
    assert (workspace.name, workspace.resource_group) == (
        twin.outputs["workspaceName"],
        twin.outputs["resourceGroupName"],
    )
    assert set(twin.outputs["dataLakeDatastoreNames"]) <= set(workspace.datastores)
    assert twin.outputs["cpuClusterName"] in workspace.computes
    assert workspace.subscription_id == twin.outputs["subscriptionId"]


def test_public_access_follows_the_network_profile_and_private_resources_have_private_endpoints(stack_twins):
    assert [stack_twins[s].workspaces[0].public_network_access for s in ("dev", "staging", "prod")] == [
        True,
        False,
        False,
    ]
    for stack in ("staging", "prod"):
        twin = stack_twins[stack]
        private = [r.resource_id for r in [*twin.workspaces, *twin.registries, *twin.function_apps]]
        assert set(private) <= set(twin.private_link_targets), f"{stack}: a private resource no VNet reaches"
        assert not any(
            r.public_network_access for r in [*twin.workspaces, *twin.registries, *twin.function_apps]
        )


def test_the_registry_is_the_one_prod_exports(stack_twins):
    assert [r.name for r in stack_twins["prod"].registries] == [
        stack_twins["prod"].outputs["amlRegistryName"]
    ]


def test_an_agent_pool_the_program_declares_is_loaded_and_its_agents_are_inside_that_stacks_vnet(stack_twins):
    twin = stack_twins["staging"]
    pool = twin.outputs["agentPoolName"]
    assert pool, "staging is private: the program declares its agent pool"
    assert [p.name for p in twin.agent_pools] == [pool]
    cloud = cloud_of(stack_twins, deployed=True)
    workspace = twin.workspaces[0]
    assert Caller(pool=pool).reaches(cloud, workspace.resource_id, public=False)
    assert not Caller(pool=stack_twins["prod"].outputs["agentPoolName"]).reaches(
        cloud, workspace.resource_id, public=False
    )
    assert not Caller(vm_image="ubuntu-24.04").reaches(cloud, workspace.resource_id, public=False)
    assert not Caller(pool="Azure Pipelines").networks(cloud)


@pytest.mark.parametrize(
    ("pool", "inside"),
    [
        ({"vmImage": "ubuntu-24.04"}, ""),
        (None, ""),
        ({"name": "Azure Pipelines", "vmImage": "ubuntu-24.04"}, ""),
        ({"name": "mdp-mlops-prod-x", "vmImage": ""}, "mdp-mlops-prod-x"),
        ("mdp-mlops-prod-x", "mdp-mlops-prod-x"),
    ],
)
def test_a_jobs_pool_says_where_its_agent_runs(pool, inside):
    """`vmImage`, or the predefined pool named `Azure Pipelines`, is a Microsoft-hosted agent; any other pool is
    self-hosted (a Managed DevOps Pool among them): https://learn.microsoft.com/en-us/azure/devops/pipelines/
    agents/agents and https://learn.microsoft.com/en-us/training/modules/manage-azure-pipeline-agents-pools/
    5-explore-predefined-agent-pool."""
    assert Caller.from_pool(pool).pool == inside
