"""Azure Databricks: a premium workspace linked to the AML workspace, private and VNet-injected when asked."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import databricks

from infra.policy_waivers import public_profile_reason, waive_check

DATABRICKS_SKU = "premium"
"""Premium: cluster policies, secret ACLs, Key Vault-backed scopes and private link all need it."""


@dataclass(frozen=True, kw_only=True)
class VnetInjection:
    """Where the workspace's clusters run inside the stack's VNet."""

    vnet_id: pulumi.Input[str]
    """Required. ARM ID of the virtual network."""
    host_subnet: str
    """Required. Name of the host ("public") subnet, delegated to Microsoft.Databricks/workspaces, with an NSG."""
    container_subnet: str
    """Required. Name of the container ("private") subnet, delegated likewise, with an NSG."""


@dataclass(frozen=True, kw_only=True)
class DatabricksWorkspaceArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the workspace."""
    subscription_id: str
    """Required. Subscription of the stack: the managed resource group's ID is built from it."""
    location: str
    """Required. Azure region."""
    workspace_name: str
    """Required. Workspace name (3-64 characters)."""
    managed_resource_group_name: str
    """Required. Resource group Azure Databricks creates and locks for its own resources (DBFS root, disks)."""
    aml_workspace_id: pulumi.Input[str]
    """Required. ARM ID of the AML workspace the Databricks workspace is linked to (MLflow, models)."""
    tags: dict[str, str]
    """Required. Tags for the workspace."""
    public_network_access: bool
    """Required. False disables the public endpoint: users and clusters reach the workspace through its
    private endpoint only."""
    vnet: VnetInjection | None = None
    """Conditional. VNet injection; required when public_network_access is False (the private endpoint and
    the back-end connection of the clusters need the workspace in the stack's VNet)."""

    def __post_init__(self) -> None:
        if not self.public_network_access and self.vnet is None:
            msg = "DatabricksWorkspaceArgs.vnet is required when public_network_access is False"
            raise ValueError(msg)


class DatabricksWorkspace(pulumi.ComponentResource):
    """A premium Azure Databricks workspace (Hybrid compute) whose MLflow and models live in the AML workspace.

    Clusters never get public IPs (secure cluster connectivity). On private stacks the clusters run in two
    delegated subnets of the stack's VNet, public network access is off and Azure Databricks adds no NSG
    rules of its own: the control plane is reached through the workspace's private endpoint.
    """

    workspace_id: pulumi.Output[str]
    """ARM ID of the workspace: the Databricks provider's `azure_workspace_resource_id`."""
    workspace_url: pulumi.Output[str]
    """Per-workspace host name, adb-<workspace ID>.<n>.azuredatabricks.net."""
    databricks_workspace_id: pulumi.Output[str]
    """The numeric Databricks workspace ID (the `o=` of workspace URLs)."""

    def __init__(
        self, name: str, args: DatabricksWorkspaceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:databricks:DatabricksWorkspace", name, None, opts)
        resource = f"{name}-workspace"
        _waive_platform_managed_keys(resource)
        if args.public_network_access:
            _waive_public_workspace(resource, args.tags)
        vnet = args.vnet
        workspace = databricks.Workspace(
            resource,
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=databricks.SkuArgs(name=DATABRICKS_SKU),
            # Required by the 2026-01-01 API; Hybrid keeps classic clusters (VNet injection, policies).
            compute_mode="Hybrid",
            managed_resource_group_id=(
                f"/subscriptions/{args.subscription_id}/resourceGroups/{args.managed_resource_group_name}"
            ),
            parameters=databricks.WorkspaceCustomParametersArgs(
                aml_workspace_id=databricks.WorkspaceCustomStringParameterArgs(value=args.aml_workspace_id),
                enable_no_public_ip=databricks.WorkspaceNoPublicIPBooleanParameterArgs(value=True),
                **(
                    {
                        "custom_virtual_network_id": databricks.WorkspaceCustomStringParameterArgs(
                            value=vnet.vnet_id
                        ),
                        "custom_public_subnet_name": databricks.WorkspaceCustomStringParameterArgs(
                            value=vnet.host_subnet
                        ),
                        "custom_private_subnet_name": databricks.WorkspaceCustomStringParameterArgs(
                            value=vnet.container_subnet
                        ),
                    }
                    if vnet
                    else {}
                ),
            ),
            public_network_access="Enabled" if args.public_network_access else "Disabled",
            # Only with public access off may Azure Databricks skip its own rules: clusters then reach the
            # control plane through the private endpoint, never through the AzureDatabricks service tag.
            required_nsg_rules="AllRules" if args.public_network_access else "NoAzureDatabricksRules",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.workspace_id = workspace.id
        self.workspace_url = workspace.workspace_url
        self.databricks_workspace_id = workspace.workspace_id
        self.register_outputs({"workspace_id": workspace.id, "workspace_url": workspace.workspace_url})


def _waive_platform_managed_keys(resource: str) -> None:
    waive_check(
        resource,
        "CKV2_AZURE_48",
        "DBFS root holds no training data (jobs read the data lake and log to Azure ML); like every store of "
        "the platform it is encrypted with Microsoft-managed keys, customer-managed keys are a per-tenant "
        "opt-in that needs a key and its rotation in the vault",
    )


def _waive_public_workspace(resource: str, tags: dict[str, str]) -> None:
    waive_check(
        resource,
        "CKV_AZURE_158",
        public_profile_reason(
            tags,
            "data scientists reach the workspace from their laptops, by design of the stack's networkProfile; "
            "clusters still have no public IP, and private stacks disable public access",
        ),
    )
