"""GitHub-hosted runners inside the network: the GitHub.Network/networkSettings resource on a delegated subnet.

With public network access off, only clients inside the VNet reach the workspace, the registries and the endpoints.
GitHub's Azure private networking puts GitHub-hosted runners into a subnet of the stack's VNet: the
networkSettings resource binds the organization's (or enterprise's) database ID to a subnet delegated to
GitHub.Network/networkSettings; Azure tags it with a `GitHubId` that the organization admin enters in GitHub to
create the network configuration, and a runner group that uses it
(https://docs.github.com/en/organizations/managing-organization-settings/about-azure-private-networking-for-github-hosted-runners-in-your-organization).

pulumi-azure-native 3.29 has no GitHub.Network type, so the resource is declared as a Microsoft.Resources
deployment (`resources.Deployment`, a typed azure-native resource) that carries a one-resource ARM template and
returns the resource's ID and `GitHubId` as template outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import resources

NETWORK_SETTINGS_TYPE = "GitHub.Network/networkSettings"
NETWORK_SETTINGS_API_VERSION = "2024-04-02"
"""The API version GitHub's own deployment scripts use for the networkSettings resource."""
TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
_DATABASE_ID = re.compile(r"[1-9][0-9]{0,19}")


def network_settings_template() -> dict[str, Any]:
    """The ARM template of the deployment: one networkSettings resource, its ARM ID and GitHub ID as outputs.

    GitHub reads the ID it needs from the resource's `GitHubId` tag, which Azure sets; `reference(..., 'Full')`
    returns the whole resource, tags included.
    """
    resource_id = f"[resourceId('{NETWORK_SETTINGS_TYPE}', parameters('name'))]"
    return {
        "$schema": TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "name": {"type": "string"},
            "location": {"type": "string"},
            "subnetId": {"type": "string"},
            "businessId": {"type": "string"},
            "tags": {"type": "object"},
        },
        "resources": [
            {
                "type": NETWORK_SETTINGS_TYPE,
                "apiVersion": NETWORK_SETTINGS_API_VERSION,
                "name": "[parameters('name')]",
                "location": "[parameters('location')]",
                "tags": "[parameters('tags')]",
                "properties": {
                    "businessId": "[parameters('businessId')]",
                    "subnetId": "[parameters('subnetId')]",
                },
            }
        ],
        "outputs": {
            "networkSettingsId": {"type": "string", "value": resource_id},
            "gitHubId": {
                "type": "string",
                "value": (
                    f"[reference({resource_id[1:-1]}, '{NETWORK_SETTINGS_API_VERSION}', 'Full').tags.GitHubId]"
                ),
            },
        },
    }


@dataclass(frozen=True, kw_only=True)
class GitHubRunnerNetworkArgs:
    """Where GitHub's runners join the VNet and for which GitHub organization."""

    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the deployment and the networkSettings resource (the VNet's subscription)."""
    location: str
    """Required. Azure region: the VNet's, and one GitHub supports for private networking."""
    settings_name: str
    """Required. Name of the networkSettings resource."""
    deployment_name: str
    """Required. Name of the ARM deployment that declares it."""
    subnet_id: pulumi.Input[str]
    """Required. ARM ID of the subnet delegated to GitHub.Network/networkSettings."""
    business_id: str
    """Required. Database ID of the GitHub organization or enterprise whose runners join the subnet."""
    runner_group: str
    """Required. The runner group the organization admin creates for this network configuration."""
    tags: dict[str, str]
    """Required. Tags of the networkSettings resource (Azure adds `GitHubId`)."""

    def __post_init__(self) -> None:
        if not _DATABASE_ID.fullmatch(self.business_id):
            msg = f"GitHubRunnerNetworkArgs.business_id = {self.business_id!r}: must be a GitHub database ID (digits)"
            raise ValueError(msg)
        if not self.runner_group:
            msg = "GitHubRunnerNetworkArgs.runner_group: must name the runner group workflows select"
            raise ValueError(msg)


class GitHubRunnerNetwork(pulumi.ComponentResource):
    """The networkSettings resource that lets one GitHub organization's hosted runners join a delegated subnet."""

    runner_group: pulumi.Output[str]
    """The runner group GitHub workflows select (`runs-on: {group: ...}`) to run inside the VNet."""
    network_settings_id: pulumi.Output[str]
    """ARM ID of the networkSettings resource."""
    github_id: pulumi.Output[str]
    """The resource's `GitHubId` tag: what the organization admin enters to create the network configuration."""

    def __init__(
        self, name: str, args: GitHubRunnerNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:cicd:GitHubRunnerNetwork", name, None, opts)
        deployment = resources.Deployment(
            f"{name}-settings",
            deployment_name=args.deployment_name,
            resource_group_name=args.resource_group_name,
            properties=resources.DeploymentPropertiesArgs(
                # Incremental: the deployment adds its one resource and never deletes others in the group.
                mode=resources.DeploymentMode.INCREMENTAL,
                template=network_settings_template(),
                parameters={
                    "name": resources.DeploymentParameterArgs(value=args.settings_name),
                    "location": resources.DeploymentParameterArgs(value=args.location),
                    "subnetId": resources.DeploymentParameterArgs(value=args.subnet_id),
                    "businessId": resources.DeploymentParameterArgs(value=args.business_id),
                    "tags": resources.DeploymentParameterArgs(value=args.tags),
                },
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        outputs = deployment.properties.apply(lambda p: dict(p.outputs or {}))
        self.runner_group = pulumi.Output.from_input(args.runner_group)
        self.network_settings_id = outputs.apply(lambda o: str(o["networkSettingsId"]["value"]))
        self.github_id = outputs.apply(lambda o: str(o["gitHubId"]["value"]))
        self.register_outputs(
            {
                "runner_group": self.runner_group,
                "network_settings_id": self.network_settings_id,
                "github_id": self.github_id,
            }
        )
