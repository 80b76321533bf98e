"""Each workspace may approve the connections of its own managed private endpoints.

Azure ML creates a user-defined private endpoint outbound rule's endpoint as the workspace; Private Link approves
a connection automatically only when its requester may approve it, and otherwise leaves it Pending for the
target's owner. The real program under the mock engine grants the workspace's identity *Azure AI Enterprise Network
Connection Approver* on each resource of its own stack that its rules reach, once per resource, and nothing on an
Azure ML registry or on another stack's resources.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.aml_registry import RegistryTargets
from infra.components.workspace import OutboundEndpoint
from infra.managed_outbound import REGISTRY_RULES, approver_grants, batch_endpoint_rules, registry_rules
from infra.plan.engine import Plan, run_program
from infra.roles import BuiltInRole
from tests.infra.conftest import config_of, stack_config

ASSIGNMENT = "azure-native:authorization:RoleAssignment"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
APPROVER = BuiltInRole.AZURE_AI_ENTERPRISE_NETWORK_CONNECTION_APPROVER
OWN_GRANT = "managed-endpoint-access-workspace-approves-"


def _own_approvals(plan: Plan) -> list[dict[str, Any]]:
    return [
        r.inputs
        for r in plan.of_type(ASSIGNMENT)
        if r.name.startswith(OWN_GRANT) and r.inputs["roleDefinitionId"].endswith(APPROVER.value)
    ]


def _endpoint_rules(plan: Plan) -> dict[str, dict[str, Any]]:
    rules = (plan.one(WORKSPACE).inputs.get("managedNetwork") or {}).get("outboundRules") or {}
    return {name: rule["destination"] for name, rule in rules.items() if rule["type"] == "PrivateEndpoint"}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_workspace_may_approve_every_own_target_of_its_private_endpoint_rules(stack: str) -> None:
    """Private Link approves a connection automatically when its requester may approve connections to the target,
    and otherwise leaves it Pending for the target's owner
    (https://learn.microsoft.com/azure/private-link/private-endpoint-overview#access-to-a-private-link-resource-using-approval-workflow).
    The managed network's endpoints are requested as the workspace, and Azure ML's managed network page asks for
    the Azure AI Enterprise Network Connection Approver role on the workspace's identity
    (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network), a role that approves
    connections to storage accounts, container registries and key vaults and to no Azure ML registry
    (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning#azure-ai-enterprise-network-connection-approver).
    So every target of the workspace's rules that its stack owns gets exactly one grant, scoped to that resource:
    the data lake, the workspace storage (batch's queue and table) and, in the registry's owner, the registry's
    storage and ACR; the registry itself (`amlregistry`) gets none."""
    plan = run_program(stack, stack_config(stack))
    owner = stack == "prod"
    expected = {
        destination["serviceResourceId"]
        for rule, destination in _endpoint_rules(plan).items()
        if destination["subresourceTarget"] != "amlregistry" and (owner or rule not in REGISTRY_RULES)
    }
    approvals = _own_approvals(plan)
    assert sorted(a["scope"] for a in approvals) == sorted(expected)
    assert len({a["principalId"] for a in approvals}) == 1
    assert {a["principalType"] for a in approvals} == {"ServicePrincipal"}
    registry = plan.one("azure-native:machinelearningservices:Registry") if owner else None
    assert registry is None or all(a["scope"] != registry.resource_id for a in approvals)


def test_a_public_consumer_grants_itself_nothing_on_the_owners_registry() -> None:
    """dev's public lake and storage need no rule; its only rules reach prod's registry, whose resources it may
    not assign roles on: the owner grants dev's workspace there (tests/infra/test_registry_approval.py)."""
    plan = run_program("dev", stack_config("dev"))
    assert set(_endpoint_rules(plan)) == set(REGISTRY_RULES)
    assert _own_approvals(plan) == []


def _rules() -> dict[str, OutboundEndpoint]:
    registry = RegistryTargets(registry_id="reg", storage_id="reg-st", container_registry_id="reg-acr")
    return {
        "datalake-dfs": OutboundEndpoint(resource_id="lake", subresource="dfs", target="data-lake"),
        "datalake-blob": OutboundEndpoint(resource_id="lake", subresource="blob", target="data-lake"),
        **{
            name: OutboundEndpoint(resource_id="st", subresource=sub, target="workspace-storage")
            for name, sub in (("storage-queue", "queue"), ("storage-table", "table"))
        },
        **registry_rules(registry),
    }


@pytest.mark.parametrize("owns_registry", [True, False])
def test_one_grant_per_target_and_registry_targets_only_in_the_owner(owns_registry: bool) -> None:
    """Two rules to one resource (dfs and blob of the lake; queue and table of the storage) need one grant; a
    consumer cannot assign roles on the owner's registry resources, so it leaves them to the owner
    (infra/registry_approval.py)."""
    grants = approver_grants("principal", _rules(), owns_registry=owns_registry)
    scopes = {g.key: g.scope for g in grants}
    expected = {"workspace-approves-data-lake": "lake", "workspace-approves-workspace-storage": "st"}
    if owns_registry:
        expected |= {
            "workspace-approves-aml-registry-storage": "reg-st",
            "workspace-approves-aml-registry-acr": "reg-acr",
        }
    assert scopes == expected
    assert {(g.principal_id, g.role) for g in grants} == {("principal", APPROVER)}


def test_batch_rules_share_the_workspace_storage_target() -> None:
    """The batch scenario's queue and table rules reach one storage account: one target name."""
    rules = batch_endpoint_rules(config_of("staging"), "storage-id")
    assert {e.target for e in rules.values()} == {"workspace-storage"}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_compute_that_provisions_the_managed_network_waits_for_the_approver_grants(stack: str) -> None:
    """Azure ML creates the managed network's private endpoints when it provisions the network, which the first
    compute triggers (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#manually-provision-a-managed-vnet);
    a connection requested before the workspace may approve it stays Pending. So the compute fleet (whose children
    register only after it) depends on every approver grant."""
    plan = run_program(stack, stack_config(stack))
    grants = {
        r.name
        for r in plan.of_type(ASSIGNMENT)
        if r.name.startswith(OWN_GRANT) and r.inputs["roleDefinitionId"].endswith(APPROVER.value)
    }
    (fleet,) = [r for r in plan.resources if r.type == "azure-mlops:azureml:ComputeFleet"]
    assert grants and grants <= set(fleet.dependencies)
