"""How each Pulumi resource token maps onto its Azure Resource Manager type and resource ID.

The mock engine derives realistic ARM IDs from this table, so that references between resources
can be asserted (the workspace's `storageAccount` input equals the storage account's ID). A token
missing here stops the plan: a new resource type must be mapped, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.errors import PlanError


@dataclass(frozen=True)
class ArmResourceType:
    """An ARM resource type and where its name segments come from in the wire inputs."""

    arm_type: str
    """Full ARM type, e.g. Microsoft.Storage/storageAccounts/blobServices/containers."""
    name_segments: tuple[str, ...]
    """One per type segment after the namespace: a wire input name, or `=literal` for a fixed segment."""
    scope_input: str | None = None
    """Extension resources (role assignments): the input holding the ID of the resource they attach to."""

    def name(self, inputs: Mapping[str, Any]) -> str:
        """The ARM name: child resources are named `parent/child`."""
        return "/".join(self._segment(s, inputs) for s in self.name_segments)

    def resource_id(self, inputs: Mapping[str, Any], subscription_id: str) -> str:
        """The ARM resource ID the resource will have in Azure."""
        namespace, *types = self.arm_type.split("/")
        if namespace == "Microsoft.Resources" and types == ["resourceGroups"]:
            return f"/subscriptions/{subscription_id}/resourceGroups/{self.name(inputs)}"
        if self.scope_input is not None:
            scope = str(inputs[self.scope_input])
        else:
            scope = f"/subscriptions/{subscription_id}/resourceGroups/{inputs['resourceGroupName']}"
        path = "/".join(
            f"{kind}/{self._segment(seg, inputs)}" for kind, seg in zip(types, self.name_segments, strict=True)
        )
        return f"{scope}/providers/{namespace}/{path}"

    @staticmethod
    def _segment(segment: str, inputs: Mapping[str, Any]) -> str:
        if segment.startswith("="):
            return segment[1:]
        return str(inputs[segment])


ARM_RESOURCE_TYPES: dict[str, ArmResourceType] = {
    "azure-native:resources:ResourceGroup": ArmResourceType(
        "Microsoft.Resources/resourceGroups", ("resourceGroupName",)
    ),
    "azure-native:operationalinsights:Workspace": ArmResourceType(
        "Microsoft.OperationalInsights/workspaces", ("workspaceName",)
    ),
    "azure-native:applicationinsights:Component": ArmResourceType(
        "Microsoft.Insights/components", ("resourceName",)
    ),
    "azure-native:storage:StorageAccount": ArmResourceType("Microsoft.Storage/storageAccounts", ("accountName",)),
    "azure-native:storage:BlobServiceProperties": ArmResourceType(
        "Microsoft.Storage/storageAccounts/blobServices", ("accountName", "blobServicesName")
    ),
    "azure-native:storage:BlobContainer": ArmResourceType(
        "Microsoft.Storage/storageAccounts/blobServices/containers", ("accountName", "=default", "containerName")
    ),
    "azure-native:keyvault:Vault": ArmResourceType("Microsoft.KeyVault/vaults", ("vaultName",)),
    "azure-native:containerregistry:Registry": ArmResourceType(
        "Microsoft.ContainerRegistry/registries", ("registryName",)
    ),
    "azure-native:machinelearningservices:Workspace": ArmResourceType(
        "Microsoft.MachineLearningServices/workspaces", ("workspaceName",)
    ),
    "azure-native:machinelearningservices:Datastore": ArmResourceType(
        "Microsoft.MachineLearningServices/workspaces/datastores", ("workspaceName", "name")
    ),
    "azure-native:machinelearningservices:Compute": ArmResourceType(
        "Microsoft.MachineLearningServices/workspaces/computes", ("workspaceName", "computeName")
    ),
    "azure-native:authorization:RoleAssignment": ArmResourceType(
        "Microsoft.Authorization/roleAssignments", ("roleAssignmentName",), scope_input="scope"
    ),
}


def arm_resource_type(token: str) -> ArmResourceType:
    """The mapping for `token`; raises PlanError for a token nobody has mapped yet."""
    try:
        return ARM_RESOURCE_TYPES[token]
    except KeyError as err:
        msg = f"resource type {token!r} has no ARM mapping: add it to infra/plan/arm_types.py"
        raise PlanError(msg) from err
