"""Approval of the consumer workspaces' managed private endpoints to the shared Azure ML registry's storage and ACR.

The real program under the mock engine: prod (the registry's owner) finds the committed consumers' workspaces (dev,
staging) by the names they give them, and grants each workspace's identity the approver role on the two resources
Azure created for the registry; a workspace that does not exist yet (the mocks' 404) gets nothing.
"""

from __future__ import annotations

from typing import Any

from infra.aml_registry import committed_config
from infra.naming import ResourceNames
from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID, Plan, run_program
from infra.registry_approval import consumer_workspaces
from infra.roles import BuiltInRole
from tests.infra.conftest import registry_resources, stack_config

ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CONSUMER_PRINCIPAL = "5b0c1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4"


def _approvals(plan: Plan) -> list[dict[str, Any]]:
    """The approver grants the owner gives consumer workspaces (the stack's own workspace's are in their own
    component: tests/infra/test_managed_endpoint_approval.py)."""
    role = BuiltInRole.AZURE_AI_ENTERPRISE_NETWORK_CONNECTION_APPROVER.value
    return [
        r.inputs
        for r in plan.of_type(ASSIGNMENT)
        if r.inputs["roleDefinitionId"].endswith(role) and r.parent == "access"
    ]


def test_the_owner_names_every_consumer_workspace_as_the_consumer_names_it() -> None:
    """The consumers are the committed stacks naming prod in amlRegistryOwnerStack; their workspaces' names come
    from infra/naming.py with their own workload, environment, region and stack, in the owner's subscription."""
    found = consumer_workspaces("prod", DEFAULT_SUBSCRIPTION_ID)
    assert sorted(found) == ["dev", "staging"]
    for stack, (group, workspace) in found.items():
        config = committed_config(stack)
        names = ResourceNames.for_stack(
            workload=config.workload,
            environment=config.environment,
            location=config.location,
            subscription_id=DEFAULT_SUBSCRIPTION_ID,
            project="azure-mlops",
            stack=stack,
        )
        assert (group, workspace) == (names.resource_group, names.ml_workspace)


def test_consumer_workspaces_approve_their_endpoints_to_the_registrys_storage_and_acr() -> None:
    """Private Link approves a connection automatically when its requester holds the target's
    privateEndpointConnectionsApproval action, and leaves it Pending for the owner otherwise
    (https://learn.microsoft.com/azure/private-link/private-endpoint-overview#access-to-a-private-link-resource-using-approval-workflow).
    The managed network's endpoints are requested as the workspace; Azure AI Enterprise Network Connection Approver
    carries the action for container registries and the connection writes for storage accounts, and nothing for
    Azure ML registries
    (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning#azure-ai-enterprise-network-connection-approver);
    the registry's own operations include no approval action
    (https://learn.microsoft.com/azure/machine-learning/how-to-manage-registries#allow-users-to-create-and-manage-registries),
    so nothing is granted on it. The grant is on each resource alone, to the identity the consumer's GET returns."""
    deployed = {
        "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"},
        "identity": {"type": "SystemAssigned", "principalId": CONSUMER_PRINCIPAL},
    }
    plan = run_program("prod", stack_config("prod"), deployed_workspace=deployed)
    storage, acr = registry_resources(plan)
    approvals = _approvals(plan)
    # dev's and staging's workspaces answer with one principal here: it is granted once per resource.
    assert sorted((a["scope"], a["principalId"], a["principalType"]) for a in approvals) == sorted(
        [(storage, CONSUMER_PRINCIPAL, "ServicePrincipal"), (acr, CONSUMER_PRINCIPAL, "ServicePrincipal")]
    )
    registry = plan.one("azure-native:machinelearningservices:Registry").resource_id
    assert all(a["scope"] != registry for a in approvals)  # no role approves a registry's own connection


def test_a_consumer_workspace_not_deployed_yet_gets_no_grant_until_the_next_run() -> None:
    """A role assignment for a principal that does not exist fails the deployment; while the consumer's workspace
    answers 404 the owner grants nothing (and warns), and its next `pulumi up` adds the grant."""
    assert _approvals(run_program("prod", stack_config("prod"))) == []


def test_consumers_grant_nothing_on_the_registry() -> None:
    """Only the owner can: the registry's resources live in its subscription and managed resource group."""
    plan = run_program("staging", stack_config("staging"))
    assert _approvals(plan) == []
