"""What the private network profile adds: subnets, private endpoints and the managed network's egress.

Kept apart from the stack program so that the one place listing every private endpoint and every
outbound rule can be read, and reviewed, on its own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi

from infra.agent_egress import firewall_subnets
from infra.aml_registry import RegistryTargets
from infra.components.network import (
    PRIVATE_DNS_ZONES,
    PrivateNetwork,
    PrivateNetworkArgs,
    SecurityRule,
    SubnetSpec,
)
from infra.components.private_endpoints import EndpointSpec
from infra.config import StackConfig
from infra.databricks_network import DATABRICKS_RULES, databricks_backend_rules
from infra.naming import ResourceNames

PRIVATE_ENDPOINT_SUBNET = "private-endpoints"
COMPUTE_SUBNET = "compute"
DATABRICKS_HOST_SUBNET = "databricks-host"
"""Databricks' "public" subnet (host side of each node); with no public IP it has no public address at all."""
DATABRICKS_CONTAINER_SUBNET = "databricks-container"
"""Databricks' "private" subnet (container side of each node)."""
DATABRICKS_DELEGATION = "Microsoft.Databricks/workspaces"
DATABRICKS_ZONE = "databricks"
"""Zone key (network.OPTIONAL_DNS_ZONES) of privatelink.azuredatabricks.net: both Databricks endpoints use it."""
DATABRICKS_ENDPOINT = "databricks"
"""Endpoint key of the workspace's databricks_ui_api endpoint (front end and clusters' back end)."""
DATABRICKS_AUTH_ENDPOINT = "databricks-auth"
"""Endpoint key of the browser_authentication endpoint (single sign-on callbacks)."""
LIFECYCLE_SUBNET = "lifecycle-functions"
"""The lifecycle handler's VNet integration subnet: its outbound traffic enters the VNet here."""
FLEX_CONSUMPTION_DELEGATION = "Microsoft.App/environments"
"""The delegation Flex Consumption VNet integration requires (not Microsoft.Web/serverFarms, which the older
plans use): https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations"""
LIFECYCLE_SUBNET_INDEX = 4
"""The handler's subnet is the VNet's fifth /24: after the endpoint, compute and both Databricks subnets, so
turning Databricks on or off never moves it (the VNet must be a /21 or larger; the config checks)."""
AGENTS_SUBNET = "agents"
"""The Managed DevOps Pool's subnet: the build agents that run the pipelines' data-plane jobs live here."""
AGENTS_DELEGATION = "Microsoft.DevOpsInfrastructure/pools"
"""The delegation a Managed DevOps Pool's subnet needs; it then serves that pool only
(https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking)."""
AGENTS_SUBNET_INDEX = 5
"""The agents' subnet is the VNet's sixth /24, after the lifecycle handler's, so that no optional feature moves it
(the VNet must be a /21 or larger; the config checks)."""
GITHUB_RUNNERS_SUBNET = "github-runners"
"""The subnet GitHub-hosted runners join (Azure private networking for GitHub-hosted runners): the GitHub Actions
jobs that touch the stack run here, as the Managed DevOps Pool's agents do for Azure Pipelines."""
GITHUB_RUNNERS_DELEGATION = "GitHub.Network/networkSettings"
"""The delegation GitHub's network settings resource needs on its subnet
(https://docs.github.com/en/organizations/managing-organization-settings/configuring-private-networking-for-github-hosted-runners-in-your-organization)."""
GITHUB_RUNNERS_SUBNET_INDEX = 6
"""The runners' subnet is the VNet's seventh /24, after the agents', so that no optional feature moves it (the
VNet must be a /21 or larger; the config checks). A /24 holds 251 runners: GitHub asks for 30% headroom over the
runner group's most concurrent jobs."""
CONTAINER_APPS_RUNNERS_SUBNET = "github-runner-jobs"
"""The subnet of the Container Apps environment whose event-driven job runs self-hosted GitHub runners."""
CONTAINER_APPS_DELEGATION = "Microsoft.App/environments"
"""The delegation a workload-profiles Container Apps environment needs on its infrastructure subnet, which then
serves that environment only (https://learn.microsoft.com/azure/container-apps/networking)."""
CONTAINER_APPS_RUNNERS_SUBNET_INDEX = 7
"""The runner jobs' subnet is the VNet's eighth /24 (a /21 has exactly eight): a workload-profiles environment
needs a /27 at least, and a /24 leaves room for the platform's addresses and `githubRunnerMaxExecutions` runners."""
LIFECYCLE_DNS_ZONES: tuple[str, ...] = ("queue", "table", "sites")
"""Zones (network.OPTIONAL_DNS_ZONES) the lifecycle endpoints need besides `blob`: the event queue, the audit
table, the app."""

# Egress of VNet-injected compute and self-hosted build agents: the service tags Azure ML documents as
# required (https://learn.microsoft.com/azure/machine-learning/how-to-access-azureml-behind-firewall).
_COMPUTE_EGRESS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "AzureMachineLearning",
        ("443", "8787", "18881"),
        "Azure ML service: job control, compute instance services",
    ),
    ("AzureActiveDirectory", ("443",), "token acquisition for identities"),
    ("AzureResourceManager", ("443",), "control plane calls of the SDK and CLI"),
    ("Storage", ("443",), "job snapshots and outputs in workspace storage"),
    ("AzureContainerRegistry", ("443",), "environment images"),
    ("MicrosoftContainerRegistry", ("443",), "Azure ML base images"),
    ("AzureFrontDoor.FirstParty", ("443",), "MCR serves image layers from here"),
    ("AzureMonitor", ("443",), "metrics and logs of jobs"),
)


def _egress(
    table: tuple[tuple[str, tuple[str, ...], str], ...], first_priority: int
) -> tuple[SecurityRule, ...]:
    """One outbound allow rule per (service tag, ports, why), in table order, 10 priorities apart."""
    return tuple(
        SecurityRule(
            name=f"allow-{tag.lower().replace('.', '-')}",
            priority=first_priority + 10 * index,
            direction="Outbound",
            access="Allow",
            destination=tag,
            ports=ports,
            why=why,
        )
        for index, (tag, ports, why) in enumerate(table)
    )


_DENY_INTERNET = SecurityRule(
    name="deny-internet",
    priority=4000,
    direction="Outbound",
    access="Deny",
    destination="Internet",
    ports=("*",),
    protocol="*",
    why="no other egress",
)
"""The last outbound rule of a subnet whose egress is an allow-list."""


def _deny_inbound(why: str) -> SecurityRule:
    """The last inbound rule of a subnet nothing may connect to, above Azure's VNet and load balancer rules."""
    return SecurityRule(
        name="deny-other-inbound",
        priority=4000,
        direction="Inbound",
        access="Deny",
        destination="*",
        source="*",
        ports=("*",),
        protocol="*",
        why=why,
    )


AZURE_DEVOPS_RANGES_SOURCE = (
    "https://learn.microsoft.com/azure/devops/organizations/security/allow-list-ip-url"
)
AZURE_DEVOPS_RANGES_READ = "2026-12-06"
"""When AZURE_DEVOPS_RANGES was last compared with its source page: Microsoft moves these ranges (the 13.107.x
ones were replaced), so re-read the page when this date is old or agents stop reaching Azure DevOps."""
AZURE_DEVOPS_RANGES: tuple[str, ...] = (
    "150.171.22.0/24",
    "150.171.23.0/24",
    "150.171.73.0/24",
    "150.171.74.0/24",
    "150.171.75.0/24",
    "150.171.76.0/24",
)
"""The IPv4 ranges Azure DevOps Services lists for outbound connections on 443 (agents polling for jobs,
dev.azure.com, pkgs.dev.azure.com for Azure Artifacts feeds), as read from AZURE_DEVOPS_RANGES_SOURCE on
AZURE_DEVOPS_RANGES_READ; service tags are not supported for outbound connections to Azure DevOps."""

COMPUTE_RULES: tuple[SecurityRule, ...] = (
    *_egress(_COMPUTE_EGRESS, 100),
    SecurityRule(
        name="allow-azure-devops",
        priority=200,
        direction="Outbound",
        access="Allow",
        destination=AZURE_DEVOPS_RANGES,
        ports=("443",),
        why="self-hosted agents poll Azure DevOps for jobs and install packages from Azure Artifacts feeds",
    ),
    _DENY_INTERNET,
)

# Build agents of the Managed DevOps Pool. They reach the stack's private endpoints inside the VNet (Azure's
# default AllowVnetOutBound rule), Azure DevOps on its documented ranges, and the dependencies Microsoft lists by
# host name only (https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking#restricting-outbound-connectivity):
# the pool service (*.prod.manageddevops.microsoft.com), the agent and worker binaries' CDNs, Entra ID, the worker
# queue (*.queue.core.windows.net), packages.microsoft.com, and PyPI, the package index the pipelines' uv installs
# from. An NSG cannot filter host names, so HTTPS goes out through the NAT gateway's one address; Ubuntu's archive
# is plain HTTP. Nothing else leaves, and nothing reaches the agents: they poll for jobs.
AGENT_RULES: tuple[SecurityRule, ...] = (
    SecurityRule(
        name="allow-azure-devops",
        priority=100,
        direction="Outbound",
        access="Allow",
        destination=AZURE_DEVOPS_RANGES,
        ports=("443",),
        why="agents poll Azure DevOps for jobs and send logs; a rule of its own so flow logs name this traffic",
    ),
    SecurityRule(
        name="allow-https-egress",
        priority=200,
        direction="Outbound",
        access="Allow",
        destination="Internet",
        ports=("443",),
        why="pool service, agent CDN, Entra ID, worker queue, PyPI: documented by host name only, no service tag",
    ),
    SecurityRule(
        name="allow-ubuntu-archive-http",
        priority=210,
        direction="Outbound",
        access="Allow",
        destination="Internet",
        ports=("80",),
        why="azure.archive.ubuntu.com provisions the agents' Linux VMs over plain HTTP",
    ),
    _deny_inbound("nothing connects to build agents; they poll Azure DevOps"),
    _DENY_INTERNET,
)

# Build agents behind the egress firewall (agentEgress: firewall). Everything bound outside the VNet takes the route
# table's default route to the firewall, whose application rules allow only the hosts of infra/agent_egress.py, so
# the NSG no longer needs Azure DevOps' ranges: it keeps web ports to the internet (decided by the firewall, host by
# host) and, inside the VNet, HTTPS only (the private endpoints): no SSH or other ports to the stack's compute.
AGENT_FIREWALL_RULES: tuple[SecurityRule, ...] = (
    SecurityRule(
        name="allow-vnet-https",
        priority=100,
        direction="Outbound",
        access="Allow",
        destination="VirtualNetwork",
        ports=("443",),
        why="the stack's private endpoints (workspace, registries, vault, storage, Databricks, function app)",
    ),
    SecurityRule(
        name="allow-web-via-firewall",
        priority=200,
        direction="Outbound",
        access="Allow",
        destination="Internet",
        ports=("443", "80"),
        why="routed to the egress firewall, which lets through only its allow-list's hosts (80: the Ubuntu archive)",
    ),
    SecurityRule(
        name="deny-other-vnet",
        priority=3900,
        direction="Outbound",
        access="Deny",
        destination="VirtualNetwork",
        ports=("*",),
        protocol="*",
        why="no other port inside the VNet (Azure's AllowVnetOutBound would allow them all)",
    ),
    _deny_inbound("nothing connects to build agents; they poll Azure DevOps"),
    _DENY_INTERNET,
)

GITHUB_RUNNERS_SOURCE = (
    "https://docs.github.com/en/organizations/managing-organization-settings/"
    "configuring-private-networking-for-github-hosted-runners-in-your-organization"
)
"""GitHub's page with the minimal NSG rules for runners in a VNet (its actions-nsg-deployment.bicep)."""

# GitHub-hosted runners in the VNet. GitHub's minimal rule set (GITHUB_RUNNERS_SOURCE): HTTPS to the VNet, to the
# GitHub Actions service and github.com, and to Azure Storage (logs, artifacts, caches, action downloads), then deny
# the internet. GitHub publishes the Actions and github.com destinations as address lists it changes, with host names
# as the alternative (the self-hosted runner allow-list); the jobs also sign in with Entra ID and install packages
# from PyPI. An NSG cannot filter host names, so HTTPS leaves through the NAT gateway's one address, as for the
# build agents; nothing else leaves, and nothing reaches the runners (they poll GitHub for jobs).
GITHUB_RUNNER_RULES: tuple[SecurityRule, ...] = (
    SecurityRule(
        name="allow-vnet-https",
        priority=200,
        direction="Outbound",
        access="Allow",
        destination="VirtualNetwork",
        ports=("443",),
        why="the stack's private endpoints (GitHub's AllowVnetOutBoundOverwrite)",
    ),
    SecurityRule(
        name="allow-storage",
        priority=230,
        direction="Outbound",
        access="Allow",
        destination="Storage",
        ports=("443",),
        why="job logs, artifacts, caches and action downloads (GitHub's AllowStorageOutbound)",
    ),
    SecurityRule(
        name="allow-https-egress",
        priority=240,
        direction="Outbound",
        access="Allow",
        destination="Internet",
        ports=("443",),
        why="GitHub Actions service, github.com, Entra ID, PyPI: GitHub's changing address lists or host names only",
    ),
    _deny_inbound("nothing connects to runners; they poll GitHub for jobs"),
    _DENY_INTERNET,
)


# Self-hosted runners of a Container Apps job (docs/github-runners.md). They reach the stack's private endpoints
# inside the VNet (Azure's AllowVnetOutBound), and by HTTPS through the NAT gateway GitHub (jobs, registration,
# actions, logs), Entra ID, the environment's images and PyPI, documented by host name only. Inbound stays at
# Azure's defaults (VNet and load balancer): the environment's nodes and its load balancer's probes use them
# (https://learn.microsoft.com/azure/container-apps/firewall-integration); nothing from the internet reaches in.
def _https_egress(priority: int, why: str) -> SecurityRule:
    """HTTPS to the internet (through the NAT gateway): for dependencies documented by host name only."""
    return SecurityRule(
        name="allow-https-egress",
        priority=priority,
        direction="Outbound",
        access="Allow",
        destination="Internet",
        ports=("443",),
        why=why,
    )


CONTAINER_APPS_RUNNER_RULES: tuple[SecurityRule, ...] = (
    _https_egress(
        200, "GitHub (jobs, runner registration, actions, logs), Entra ID, image pulls, PyPI: host names only"
    ),
    _DENY_INTERNET,
)

# The same runners behind the egress firewall (agentEgress: firewall): the route table's default route takes what
# leaves the VNet to the firewall, whose application rules allow only the hosts of infra/runner_egress.py. The NSG
# sees the destination, not the next hop, so it keeps HTTPS to the internet (decided by the firewall, host by host)
# and Azure's AllowVnetOutBound: the environment's nodes talk among themselves on any port inside the subnet
# (https://learn.microsoft.com/azure/container-apps/firewall-integration), so no VNet port is narrowed here.
CONTAINER_APPS_RUNNER_FIREWALL_RULES: tuple[SecurityRule, ...] = (
    _https_egress(200, "routed to the egress firewall, which lets through only the runners' allow-list"),
    _DENY_INTERNET,
)

# Private endpoints only ever answer clients inside the VNet, on HTTPS and SMB (the notebooks file share).
PRIVATE_ENDPOINT_RULES: tuple[SecurityRule, ...] = (
    SecurityRule(
        name="allow-vnet-https-smb",
        priority=100,
        direction="Inbound",
        access="Allow",
        destination="VirtualNetwork",
        ports=("443", "445"),
        why="clients in the VNet reach services",
    ),
    _deny_inbound("nothing else reaches the endpoints"),
)


def _endpoint_rules(databricks_prefixes: tuple[str, ...]) -> tuple[SecurityRule, ...]:
    """The endpoint subnet's rules; with Databricks, its nodes also reach the back-end ports of its endpoint."""
    backend = databricks_backend_rules(databricks_prefixes, first_priority=110)
    return (*PRIVATE_ENDPOINT_RULES[:1], *backend, *PRIVATE_ENDPOINT_RULES[1:])


# The lifecycle handler (Flex Consumption, VNet-integrated) reaches its storage, its queue, the audit table and
# the vault through private endpoints in the VNet (allowed by the NSG's default VirtualNetwork rule). Everything else it
# calls is a public HTTPS endpoint: Entra ID, Application Insights ingestion, dev.azure.com, and the
# notification webhook, whose host (a Teams workflow, Slack) has no service tag. A notification that cannot be
# sent makes the host retry the queue message, and the retry would queue retraining again, so the webhook
# must be reachable: HTTPS is allowed out through the NAT gateway's one address, nothing else.
LIFECYCLE_RULES: tuple[SecurityRule, ...] = (
    _https_egress(
        100, "Entra ID, Application Insights, dev.azure.com and the notification webhook (no service tag)"
    ),
    _DENY_INTERNET,
)

FIREWALL_FILTERED_SUBNETS: dict[str, tuple[SecurityRule, ...]] = {
    AGENTS_SUBNET: AGENT_FIREWALL_RULES,
    CONTAINER_APPS_RUNNERS_SUBNET: CONTAINER_APPS_RUNNER_FIREWALL_RULES,
}
"""The CI/CD subnets whose internet-bound traffic takes the egress firewall with agentEgress: firewall -> their NSG
rules then. Both run the jobs that deploy and promote: Azure Pipelines' agents and GitHub's runners."""

PACKAGE_HOSTS: dict[str, str] = {
    # MLflow no-code deployment builds the serving image from the model's requirements with pip ...
    "pypi": "pypi.org",
    # ... which downloads the wheels themselves from PyPI's file host ...
    "pythonhosted": "files.pythonhosted.org",
    # ... inside a conda environment whose python comes from the conda-forge channel (the MLflow model's
    # conda.yaml). Azure ML's own required hosts (service tags, MCR) are added by the service itself.
    "conda-forge": "conda.anaconda.org",
}
"""Outbound rule name -> the only FQDNs the managed network may reach under AllowOnlyApprovedOutbound."""


def subnets(
    address_space: str,
    *,
    databricks: bool = False,
    lifecycle: bool = False,
    agents: bool = False,
    github_runners: bool = False,
    runner_jobs: bool = False,
    egress_firewall: bool = False,
) -> tuple[SubnetSpec, ...]:
    """The first /24 of the VNet for private endpoints, the second for VNet-injected compute;
    with `databricks`, the third and fourth for the Databricks workspace's host and container subnets; with
    `lifecycle`, the fifth for the lifecycle handler's VNet integration; with `agents`, the sixth for the
    Managed DevOps Pool's build agents; with `github_runners`, the seventh for GitHub-hosted runners; with
    `runner_jobs`, the eighth for the Container Apps environment of self-hosted GitHub runners; with
    `egress_firewall`, the ninth split into the egress firewall's subnets, and the internet-bound traffic of the
    agents and the runner jobs (FIREWALL_FILTERED_SUBNETS) routed through it instead of the NAT gateway.

    Pipeline agents get a subnet of their own, delegated to Managed DevOps Pools: with public access off, only
    clients inside the VNet can submit jobs, share models into the registry or deploy. Databricks needs two subnets of its
    own, delegated to it and each with an NSG; a /24 each holds 250 nodes. The handler's subnet is delegated
    to Flex Consumption, which takes one address per instance (the app scales to 40).
    """
    blocks = list(ipaddress.ip_network(address_space).subnets(new_prefix=24))
    first, second, third, fourth = blocks[:4]
    specs = [
        SubnetSpec(
            name=PRIVATE_ENDPOINT_SUBNET,
            address_prefix=str(first),
            rules=_endpoint_rules((str(third), str(fourth)) if databricks else ()),
            private_endpoints=True,
        ),
        SubnetSpec(name=COMPUTE_SUBNET, address_prefix=str(second), rules=COMPUTE_RULES, nat_egress=True),
    ]
    if databricks:
        specs += [
            SubnetSpec(
                name=name,
                address_prefix=str(prefix),
                rules=DATABRICKS_RULES,
                delegation=DATABRICKS_DELEGATION,
                nat_egress=True,
            )
            for name, prefix in ((DATABRICKS_HOST_SUBNET, third), (DATABRICKS_CONTAINER_SUBNET, fourth))
        ]
    for wanted, index, name, rules, delegation in (
        (lifecycle, LIFECYCLE_SUBNET_INDEX, LIFECYCLE_SUBNET, LIFECYCLE_RULES, FLEX_CONSUMPTION_DELEGATION),
        (agents, AGENTS_SUBNET_INDEX, AGENTS_SUBNET, AGENT_RULES, AGENTS_DELEGATION),
        (
            github_runners,
            GITHUB_RUNNERS_SUBNET_INDEX,
            GITHUB_RUNNERS_SUBNET,
            GITHUB_RUNNER_RULES,
            GITHUB_RUNNERS_DELEGATION,
        ),
        (
            runner_jobs,
            CONTAINER_APPS_RUNNERS_SUBNET_INDEX,
            CONTAINER_APPS_RUNNERS_SUBNET,
            CONTAINER_APPS_RUNNER_RULES,
            CONTAINER_APPS_DELEGATION,
        ),
    ):
        if not wanted:
            continue
        if len(blocks) <= index:
            ordinal = {4: "fifth", 5: "sixth", 6: "seventh", 7: "eighth"}[index]
            msg = f"vnet {address_space}: has no {ordinal} /24 for the {name} subnet; use a /21 or larger"
            raise ValueError(msg)
        filtered = egress_firewall and name in FIREWALL_FILTERED_SUBNETS
        specs.append(
            SubnetSpec(
                name=name,
                address_prefix=str(blocks[index]),
                rules=FIREWALL_FILTERED_SUBNETS[name] if filtered else rules,
                delegation=delegation,
                nat_egress=not filtered,
                firewall_route=filtered,
            )
        )
    if egress_firewall:
        specs += firewall_subnets(address_space)
    return tuple(specs)


def private_subnets(config: StackConfig) -> tuple[SubnetSpec, ...]:
    """The subnets of a private stack's VNet, sized to its optional features."""
    return subnets(
        config.vnet_address_space,
        databricks=config.databricks_enabled,
        lifecycle=config.lifecycle_events_enabled,
        agents=True,
        github_runners=config.github_private_networking,
        runner_jobs=config.github_container_apps,
        egress_firewall=config.agent_egress_firewall,
    )


def build_private_network(
    config: StackConfig, names: ResourceNames, resource_group_name: pulumi.Input[str], tags: dict[str, str]
) -> PrivateNetwork | None:
    """The VNet, its subnets, NAT gateway and DNS zones for a private stack, sized to its optional features."""
    if not config.is_private:
        return None
    return PrivateNetwork(
        "network",
        PrivateNetworkArgs(
            resource_group_name=resource_group_name,
            location=config.location,
            vnet_name=names.virtual_network,
            address_space=config.vnet_address_space,
            subnets=private_subnets(config),
            nsg_name=names.network_security_group,
            nat_gateway_name=names.nat_gateway,
            nat_public_ip_name=names.nat_public_ip,
            route_table_name=names.agent_route_table if config.agent_egress_firewall else None,
            tags=tags,
            dns_zones=(
                *PRIVATE_DNS_ZONES,
                *((DATABRICKS_ZONE,) if config.databricks_enabled else ()),
                *(LIFECYCLE_DNS_ZONES if config.lifecycle_events_enabled else ()),
            ),
        ),
    )


@dataclass(frozen=True, kw_only=True)
class LifecycleTargets:
    """The lifecycle handler's resources that get private endpoints (see LifecycleEvents)."""

    function_storage_id: pulumi.Input[str]
    """The handler's own account: host state and the code package (blob)."""
    inbox_storage_id: pulumi.Input[str]
    """The inbox account: the event queue the handler reads (queue), and the dead letters operators in the VNet
    read and replay (blob)."""
    audit_storage_id: pulumi.Input[str]
    """The audit store (table)."""
    function_app_id: pulumi.Input[str]
    """The function app (sites): its SCM/deploy endpoint answers only through this endpoint."""


def endpoint_specs(
    names: ResourceNames,
    *,
    workspace_id: pulumi.Input[str],
    storage_id: pulumi.Input[str],
    data_lake_id: pulumi.Input[str],
    key_vault_id: pulumi.Input[str],
    container_registry_id: pulumi.Input[str],
    aml_registry: RegistryTargets | None,
    databricks_workspace_id: pulumi.Input[str] | None = None,
    lifecycle: LifecycleTargets | None = None,
) -> dict[str, EndpointSpec]:
    """Every private endpoint of the private profile: (target, sub-resource, DNS zones that resolve it)."""
    wanted: list[tuple[str, pulumi.Input[str], str, tuple[str, ...]]] = [
        ("workspace", workspace_id, "amlworkspace", ("aml-api", "aml-notebooks")),
        ("storage-blob", storage_id, "blob", ("blob",)),
        ("storage-file", storage_id, "file", ("file",)),  # notebooks live on the workspace's file share
        ("datalake-dfs", data_lake_id, "dfs", ("dfs",)),
        ("datalake-blob", data_lake_id, "blob", ("blob",)),
        ("vault", key_vault_id, "vault", ("vault",)),
        ("registry", container_registry_id, "registry", ("registry",)),
    ]
    if aml_registry is not None:
        # Clients in the VNet (the agents that share models) reach the registry, and the files and images it
        # holds, privately: https://learn.microsoft.com/azure/machine-learning/how-to-registry-network-isolation
        wanted += [
            ("aml-registry", aml_registry.registry_id, "amlregistry", ("aml-api",)),
            ("aml-registry-storage", aml_registry.storage_id, "blob", ("blob",)),
            ("aml-registry-acr", aml_registry.container_registry_id, "registry", ("registry",)),
        ]
    if databricks_workspace_id is not None:
        # One endpoint serves both directions in this VNet: users to the workspace (front end) and the
        # clusters' secure cluster connectivity to the control plane (back end). The browser_authentication
        # endpoint serves every workspace of the region that shares the private DNS zone: the zone is this
        # stack's own, holding this one workspace, so the workspace hosts it (docs/private-profile.md).
        wanted += [
            (DATABRICKS_ENDPOINT, databricks_workspace_id, "databricks_ui_api", (DATABRICKS_ZONE,)),
            (DATABRICKS_AUTH_ENDPOINT, databricks_workspace_id, "browser_authentication", (DATABRICKS_ZONE,)),
        ]
    if lifecycle is not None:
        # Only the sub-resources the handler's grants allow: host blobs, its queue, audit table entities; the
        # inbox's blobs for operators reading dead letters; and the app, where code is published.
        wanted += [
            ("lifecycle-storage-blob", lifecycle.function_storage_id, "blob", ("blob",)),
            ("lifecycle-inbox-queue", lifecycle.inbox_storage_id, "queue", ("queue",)),
            ("lifecycle-inbox-blob", lifecycle.inbox_storage_id, "blob", ("blob",)),
            ("lifecycle-audit-table", lifecycle.audit_storage_id, "table", ("table",)),
            ("lifecycle-app", lifecycle.function_app_id, "sites", ("sites",)),
        ]
    return {
        key: EndpointSpec(
            target_id=target, group_id=group, zone_keys=zones, endpoint_name=names.private_endpoint(key)
        )
        for key, target, group, zones in wanted
    }
