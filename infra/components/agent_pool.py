"""CI/CD agents inside the network: an Azure Managed DevOps Pool whose build agents join the VNet.

With public network access off, the workspace, the registries, the endpoints and the function app answer only
clients inside the VNet; pipeline jobs that touch them (submit jobs, share models, deploy, publish, call the
Databricks API) must run there. A Managed DevOps Pool is an Azure resource (Microsoft.DevOpsInfrastructure/pools)
that registers itself as an agent pool in the Azure DevOps organization and runs each agent on a fresh VM in a
subnet delegated to it; Microsoft patches the image and scales the VMs to the jobs queued.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import devcenter, devopsinfrastructure

from infra.components.access import AccessControl, AccessControlArgs, Grant

AGENT_IMAGE = "ubuntu-24.04"
"""The Azure Pipelines image the agents run: the same software as the Microsoft-hosted `vmImage: ubuntu-24.04`
(Azure CLI, Python), so the job templates run unchanged on either pool."""


@dataclass(frozen=True, kw_only=True)
class AgentPoolArgs:
    """What the pool needs: where it lives, whom it serves, and the subnet its agents join."""

    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the Dev Center, its project and the pool."""
    location: str
    """Required. Azure region; the pool must be in the VNet's region."""
    dev_center_name: str
    """Required. Name of the Dev Center that holds the pool's project."""
    project_name: str
    """Required. Name of the Dev Center project the pool belongs to."""
    pool_name: str
    """Required. Name of the pool: global in Azure, and the agent pool name pipelines use (`pool: name:`)."""
    organization_url: str
    """Required. Azure DevOps organization the pool registers in, https://dev.azure.com/<organization>."""
    projects: tuple[str, ...]
    """Required. Azure DevOps projects allowed to use the pool; at least one (never the whole organization)."""
    subnet_id: pulumi.Input[str]
    """Required. ARM ID of the subnet delegated to Microsoft.DevOpsInfrastructure/pools."""
    grants: tuple[Grant, ...]
    """Required. Role assignments the service needs before it can join agents to the subnet (the
    DevOpsInfrastructure principal's roles on the VNet); the pool is created after them."""
    subscription_id: str
    """Required. Subscription holding the role definitions of `grants`."""
    stack_suffix: str
    """Required. The stack's naming suffix: keeps the grants' assignment GUIDs unique per stack."""
    tags: dict[str, str]
    """Required. Tags for every resource."""
    max_agents: int = 2
    """Optional. 1-50: most agents (VMs) running at once; each takes one address of the subnet."""
    vm_size: str = "Standard_D2ads_v5"
    """Optional. VM size of the agents."""

    def __post_init__(self) -> None:
        if not self.projects:
            msg = "AgentPoolArgs.projects: must name at least one Azure DevOps project (no open access)"
            raise ValueError(msg)
        if not 1 <= self.max_agents <= 50:
            msg = f"AgentPoolArgs.max_agents = {self.max_agents}: must be 1-50"
            raise ValueError(msg)
        if not self.organization_url.startswith("https://dev.azure.com/"):
            msg = f"AgentPoolArgs.organization_url = {self.organization_url!r}: must be https://dev.azure.com/<org>"
            raise ValueError(msg)


class AgentPool(pulumi.ComponentResource):
    """A Managed DevOps Pool of stateless Linux agents in a delegated subnet, offered to named projects only."""

    pool_name: pulumi.Output[str]
    """Name of the pool: the Azure DevOps agent pool that pipelines name in `pool: name:`."""
    pool_id: pulumi.Output[str]
    """ARM ID of the pool."""

    def __init__(self, name: str, args: AgentPoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("azure-mlops:cicd:AgentPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Managed DevOps Pools are created in a Dev Center project; the Dev Center itself holds nothing else.
        center = devcenter.DevCenter(
            f"{name}-dev-center",
            dev_center_name=args.dev_center_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        project = devcenter.Project(
            f"{name}-project",
            project_name=args.project_name,
            dev_center_id=center.id,
            resource_group_name=args.resource_group_name,
            location=args.location,
            description="Managed DevOps Pool of the stack's build agents",
            tags=args.tags,
            opts=child,
        )
        access = AccessControl(
            f"{name}-access",
            AccessControlArgs(
                subscription_id=args.subscription_id, stack_suffix=args.stack_suffix, grants=args.grants
            ),
            opts=child,
        )
        pool = devopsinfrastructure.Pool(
            f"{name}-pool",
            pool_name=args.pool_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dev_center_project_resource_id=project.id,
            maximum_concurrency=args.max_agents,
            # A fresh VM for every job: nothing one job leaves behind (files, tokens, caches) reaches the next.
            agent_profile=devopsinfrastructure.StatelessAgentProfileArgs(kind="Stateless"),
            organization_profile=devopsinfrastructure.AzureDevOpsOrganizationProfileArgs(
                kind="AzureDevOps",
                organizations=[
                    devopsinfrastructure.OrganizationArgs(
                        url=args.organization_url,
                        projects=list(args.projects),
                        open_access=False,
                        parallelism=args.max_agents,
                    )
                ],
                # Only the identity that created the pool (the infra pipeline's) administers it in Azure DevOps.
                permission_profile=devopsinfrastructure.AzureDevOpsPermissionProfileArgs(kind="CreatorOnly"),
            ),
            fabric_profile=devopsinfrastructure.VmssFabricProfileArgs(
                kind="Vmss",
                sku=devopsinfrastructure.DevOpsAzureSkuArgs(name=args.vm_size),
                images=[devopsinfrastructure.PoolImageArgs(well_known_image_name=AGENT_IMAGE)],
                network_profile=devopsinfrastructure.NetworkProfileArgs(subnet_id=args.subnet_id),
                os_profile=devopsinfrastructure.OsProfileArgs(logon_type="Service"),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(access.assignments.values())),
        )
        self.pool_name = pool.name
        self.pool_id = pool.id
        self.register_outputs({"pool_name": pool.name, "pool_id": pool.id})
