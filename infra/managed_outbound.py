"""The private endpoint outbound rules the stack adds to the workspace's managed network.

Azure adds the ones the workspace itself needs (its storage's blob and file, its vault, its container registry);
these are the ones Microsoft documents per scenario, each for a scenario the platform runs:
https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#list-of-scenario-specific-outbound-rules
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.aml_registry import RegistryTargets
from infra.components.access import Grant
from infra.components.workspace import OutboundEndpoint
from infra.config import StackConfig
from infra.roles import BuiltInRole

BATCH_STORAGE_SUBRESOURCES: tuple[str, ...] = ("queue", "table")
"""Batch endpoints (and ParallelRunStep) coordinate their mini-batches through the default storage's queues and
tables: "Scenario: Use batch endpoints or ParallelRunStep" on the managed network page."""


def batch_endpoint_rules(config: StackConfig, storage_id: pulumi.Input[str]) -> dict[str, OutboundEndpoint]:
    """The workspace storage's queue and table, where the managed network cannot reach them otherwise.

    Under AllowOnlyApprovedOutbound nothing but approved rules leaves the managed network; under
    AllowInternetOutbound a storage account with public access off answers only private endpoints. With
    neither (public storage, internet outbound) the public endpoints serve, and a private endpoint would only
    cost money.
    """
    if config.managed_network_isolation == "Disabled":
        return {}
    if config.managed_network_isolation != "AllowOnlyApprovedOutbound" and not config.is_private:
        return {}
    return {
        f"storage-{sub}": OutboundEndpoint(
            resource_id=storage_id, subresource=sub, target="workspace-storage"
        )
        for sub in BATCH_STORAGE_SUBRESOURCES
    }


REGISTRY_RULES: dict[str, str] = {
    "aml-registry": "amlregistry",
    "aml-registry-storage": "blob",
    "aml-registry-acr": "registry",
}
"""Rule name -> sub-resource of the registry's three resources (network isolation with Azure ML registries:
a private endpoint to the registry, its storage and its ACR from the workspace's network)."""


def registry_rules(targets: RegistryTargets | None) -> dict[str, OutboundEndpoint]:
    """Private endpoints from the managed network to the registry, its storage and its ACR (none before it exists)."""
    if targets is None:
        return {}
    ids = {
        "aml-registry": targets.registry_id,
        "aml-registry-storage": targets.storage_id,
        "aml-registry-acr": targets.container_registry_id,
    }
    return {
        rule: OutboundEndpoint(resource_id=ids[rule], subresource=sub, target=rule)
        for rule, sub in REGISTRY_RULES.items()
    }


MANAGED_ENDPOINT_ACCESS = "managed-endpoint-access"
"""The component holding `approver_grants`: the compute, whose creation provisions the managed network, waits for it."""

APPROVABLE_SUBRESOURCES: frozenset[str] = frozenset(
    {"blob", "file", "dfs", "queue", "table", "registry", "vault"}
)
"""Sub-resources of the types whose connections *Azure AI Enterprise Network Connection Approver* may approve
(storage accounts, container registries, key vaults). `amlregistry` is not one: the role carries no action on
Azure ML registries (infra/registry_approval.py)."""


def approver_grants(
    principal_id: pulumi.Input[str], endpoints: Mapping[str, OutboundEndpoint], *, owns_registry: bool
) -> tuple[Grant, ...]:
    """The workspace's identity may approve the connections of its own managed private endpoints: one grant of
    *Azure AI Enterprise Network Connection Approver* per resource the stack owns that its rules reach.

    Azure ML creates a user-defined rule's private endpoint as the workspace, and Private Link leaves a connection
    Pending unless its requester may approve it; Microsoft's managed network pages name this role for the identity
    that requests them (Azure ML's for a user-assigned workspace identity, Foundry's for its resource's). Azure adds (and approves) the endpoints to the workspace's own storage, vault and
    registry itself; the data lake, the storage's queue and table for batch, and, in the registry's owner, the
    registry's storage and ACR are the rules' targets. A consumer's registry targets belong to the owner, which
    grants them (infra/registry_approval.py).
    """
    targets: dict[str, OutboundEndpoint] = {}
    for rule, endpoint in endpoints.items():
        if endpoint.subresource not in APPROVABLE_SUBRESOURCES:
            continue
        if rule in REGISTRY_RULES and not owns_registry:
            continue
        targets.setdefault(endpoint.target, endpoint)
    return tuple(
        Grant(
            key=f"workspace-approves-{target}",
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            role=BuiltInRole.AZURE_AI_ENTERPRISE_NETWORK_CONNECTION_APPROVER,
            scope=endpoint.resource_id,
        )
        for target, endpoint in sorted(targets.items())
    )
