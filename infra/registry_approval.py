"""Approval of the managed private endpoints through which consumer workspaces reach the shared Azure ML registry.

A consumer stack (dev, staging) gives its workspace's managed network private endpoint outbound rules to the
owner's registry, its storage and its ACR (infra/managed_outbound.py). Azure ML creates those private endpoints as
the workspace, and Private Link approves a connection automatically only when its requester holds the target's
`Microsoft.<Provider>/<type>/privateEndpointConnectionsApproval/action`; otherwise it waits, Pending, for the
target's owner (https://learn.microsoft.com/azure/private-link/private-endpoint-overview#access-to-a-private-link-resource-using-approval-workflow).
Same tenant is required (a managed network's private endpoint target must be in the workspace's tenant); the
subscription does not matter, and neither do the deployer's rights: the deployer writes the outbound rule on its
own workspace, the workspace requests the connection.

So the owner, which deploys last, grants each consumer workspace's identity *Azure AI Enterprise Network Connection
Approver* on the registry's storage account and on its ACR, and nothing wider: that built-in role carries the
approval of private endpoint connections to storage and container registries
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/ai-machine-learning#azure-ai-enterprise-network-connection-approver),
and those two connections are then approved as they are requested. The role has no such action for
`Microsoft.MachineLearningServices/registries`, and no other role does, so the registry's own connection stays
Pending until the owner approves it, once (docs/private-profile.md says how).
"""

from __future__ import annotations

from pathlib import Path

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra.aml_registry import RegistryUse, registry_consumers
from infra.arm_reads import existing
from infra.components.access import Grant
from infra.config import PROJECT
from infra.naming import ResourceNames
from infra.roles import BuiltInRole


def consumer_workspaces(
    owner: str, subscription_id: str, *, root: Path | None = None, project: str = PROJECT
) -> dict[str, tuple[str, str]]:
    """Committed stack -> (resource group, workspace name) of every stack in `subscription_id` that names `owner`
    as its registry's owner, named as that stack names them (infra/naming.py). A consumer that sets
    `amlRegistrySubscriptionId` lives in another subscription than the owner, whose naming suffix the owner cannot
    know: it is left out (its registry connections wait for the owner's approval)."""
    found = {}
    for stack, config in registry_consumers(owner, root=root, project=project).items():
        if config.aml_registry_subscription_id:
            continue
        names = ResourceNames.for_config(
            config, subscription_id=subscription_id, project=project, stack=stack
        )
        found[stack] = (names.resource_group, names.ml_workspace)
    return found


def workspace_principal(stack: str, resource_group: str, workspace: str) -> str | None:
    """The principal ID of a consumer workspace's system-assigned identity; None while it does not exist yet.

    Consumers deploy before the owner in the infra pipeline, so their workspaces exist when it runs; on a first
    deployment that does not follow that order the grant is added by the owner's next `pulumi up`. Errors other
    than "not found" are raised: they must not silently drop an approval.
    """
    found = existing(lambda: ml.get_workspace(resource_group_name=resource_group, workspace_name=workspace))
    if found is None:
        pulumi.log.warn(
            f"workspace {workspace} (stack {stack}) does not exist yet: its managed private endpoints to the Azure ML "
            "registry's storage and ACR are approved after the next `pulumi up` of the registry's owner"
        )
        return None
    return found.identity.principal_id if found.identity else None


def approval_grants(use: RegistryUse, subscription_id: str) -> tuple[Grant, ...]:
    """In the registry's owner: the approver role on the registry's storage and ACR for each consumer workspace
    that exists, one assignment per principal and resource; none in any other stack."""
    if use.owned is None or use.ref is None:
        return ()
    grants: list[Grant] = []
    seen: set[str] = set()
    for stack, (group, workspace) in sorted(
        consumer_workspaces(use.ref.owner_stack, subscription_id).items()
    ):
        principal = workspace_principal(stack, group, workspace)
        if not principal or principal in seen:
            continue
        seen.add(principal)
        for target, scope in (("storage", use.owned.storage_id), ("acr", use.owned.container_registry_id)):
            grants.append(
                Grant(
                    key=f"{stack}-workspace-approves-aml-registry-{target}",
                    principal_id=principal,
                    principal_type="ServicePrincipal",
                    role=BuiltInRole.AZURE_AI_ENTERPRISE_NETWORK_CONNECTION_APPROVER,
                    scope=scope,
                )
            )
    return tuple(grants)
