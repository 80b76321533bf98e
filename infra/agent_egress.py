"""The build agents' egress allow-list: every host a private stack's Managed DevOps Pool agents may reach outside
the VNet, by host name, with who needs it; and the two firewall subnets that hold the firewall enforcing it.

The private endpoints are not here: the agents reach them inside the VNet (their addresses are VNet addresses, so
the default route to the firewall never applies), resolved through the stack's private DNS zones.
"""

from __future__ import annotations

import ipaddress

from infra.components.egress_firewall import FIREWALL_MANAGEMENT_SUBNET, FIREWALL_SUBNET, HostRule
from infra.components.network import SubnetSpec

FIREWALL_SUBNET_INDEX = 8
"""The firewall's subnets split the VNet's ninth /24 into /26s (the smallest Azure takes for either), after the
GitHub runners' and the reserved container-apps runners' /24s, so no optional feature moves them (the VNet must
be a /20 or larger; the config checks)."""

MANAGED_DEVOPS_POOLS_SOURCE = "https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking#restricting-outbound-connectivity"
AZURE_DEVOPS_DOMAINS_SOURCE = (
    "https://learn.microsoft.com/azure/devops/organizations/security/allow-list-ip-url"
)

AGENT_EGRESS_HOSTS: tuple[HostRule, ...] = (
    HostRule(
        name="managed-devops-pools",
        hosts=(
            "*.prod.manageddevops.microsoft.com",
            "rmprodbuilds.azureedge.net",
            "vstsagentpackage.azureedge.net",
            "download.agent.dev.azure.com",
            "*.queue.core.windows.net",
            "server.pipe.aria.microsoft.com",
            "www.microsoft.com",
            "security.ubuntu.com",
            "packages.microsoft.com",
            "ppa.launchpad.net",
        ),
        why="Managed DevOps Pools: pool service, worker and agent binaries, worker queue, telemetry, Ubuntu setup",
    ),
    HostRule(
        name="ubuntu-archive",
        hosts=("azure.archive.ubuntu.com",),
        protocols=("Http",),
        why="Managed DevOps Pools provisions the agents' Ubuntu VMs from this archive over plain HTTP",
    ),
    HostRule(
        name="azure-devops",
        hosts=(
            "dev.azure.com",
            "*.dev.azure.com",
            "*.services.visualstudio.com",
            "*.vsblob.visualstudio.com",
            "*.vssps.visualstudio.com",
            "*.visualstudio.com",
            "*.vsassets.io",
            "*.blob.core.windows.net",
        ),
        why="Azure DevOps agent: jobs, logs, sign-in; pipeline caches and artifacts (blob); the azblob Pulumi state",
    ),
    HostRule(
        name="entra-arm",
        hosts=("login.microsoftonline.com", "management.azure.com"),
        why="Entra ID tokens of the service connection; ARM calls of az, pulumi and the Azure ML SDK",
    ),
    HostRule(
        name="azure-ml",
        hosts=("*.api.azureml.ms",),
        why="Azure ML regional API (MLflow, discovery); workspace hosts resolve to the private endpoint instead",
    ),
    HostRule(
        name="pulumi-state-secrets",
        hosts=("*.vault.azure.net", "api.pulumi.com"),
        why="Pulumi state secrets provider (azurekeyvault) or the pulumicloud backend (pulumi.yml)",
    ),
    HostRule(
        name="pulumi-cli",
        hosts=("get.pulumi.com",),
        why="the pinned Pulumi CLI (install-pulumi.yml) and its provider plugins (get.pulumi.com first)",
    ),
    HostRule(
        name="python-packages",
        hosts=("pypi.org", "files.pythonhosted.org"),
        why="PyPI: uv itself (pip install uv) and every locked package uv sync installs (setup-python-uv.yml)",
    ),
    HostRule(
        name="github-api",
        hosts=("api.github.com",),
        why="publish_stack_variables writes the stack's outputs into a GitHub environment (githubRepository)",
    ),
    # Added by the runner image build (templates/jobs/runner-prerequisites.yml), kept apart from the agents' own needs:
    # `docker build` of infra/runner_image/ pulls GitHub's runner image from ghcr.io, whose layers come from
    # pkg-containers.githubusercontent.com (GitHub's `packages` domains:
    # https://docs.github.com/en/get-started/using-github/allowing-access-to-githubs-services-from-a-restricted-network),
    # and its `apt-get` reads the Ubuntu archive the base image names, over plain HTTP (the indexes are signed).
    HostRule(
        name="runner-image-build",
        hosts=(
            "ghcr.io",
            "pkg-containers.githubusercontent.com",
            "archive.ubuntu.com",
            "security.ubuntu.com",
        ),
        protocols=("Https", "Http"),
        why="docker build of the GitHub runner image: its base image (ghcr.io) and its apt packages",
    ),
)
"""The allow-list, per need. Managed DevOps Pools' own list (MANAGED_DEVOPS_POOLS_SOURCE) less
`dl.fedoraproject.org` (the agents run Ubuntu) and `md-*.blob.storage.azure.net` (no data disks); Azure DevOps'
(AZURE_DEVOPS_DOMAINS_SOURCE) as far as an agent uses it; and what the pipeline steps call. Python comes from the
image (UsePythonVersion@0 finds it in the tool cache) and uv never downloads interpreters (UV_PYTHON_DOWNLOADS:
never), so neither GitHub's python-versions nor astral.sh downloads are needed."""


def firewall_subnets(address_space: str) -> tuple[SubnetSpec, SubnetSpec]:
    """AzureFirewallSubnet and AzureFirewallManagementSubnet: the first two /26s of the VNet's ninth /24.

    Azure allows neither an NSG nor a delegation on them; the firewall itself is their only tenant.
    """
    blocks = list(ipaddress.ip_network(address_space).subnets(new_prefix=24))
    if len(blocks) <= FIREWALL_SUBNET_INDEX:
        msg = f"vnet {address_space}: has no ninth /24 for the egress firewall's subnets; use a /20 or larger"
        raise ValueError(msg)
    data, management, *_ = blocks[FIREWALL_SUBNET_INDEX].subnets(new_prefix=26)
    return (
        SubnetSpec(name=FIREWALL_SUBNET, address_prefix=str(data), rules=None),
        SubnetSpec(name=FIREWALL_MANAGEMENT_SUBNET, address_prefix=str(management), rules=None),
    )
