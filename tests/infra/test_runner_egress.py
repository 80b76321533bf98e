"""The GitHub runner jobs' egress: with agentEgress: firewall (prod's rule, staging's default) the Container Apps
runners' subnet leaves the VNet only through the egress firewall, whose rules for it name exactly the hosts
Microsoft documents for a Container Apps environment behind Azure Firewall, the hosts GitHub documents for a
self-hosted runner, and what the generated project's GitHub jobs call.

The committed private stacks (staging, prod) run under the mock engine, as in tests/infra/test_agent_egress.py.
The Azure twin (tests/support/azure_twin) models no network egress, so there is no twin-side refusal to test.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from infra.agent_egress import AGENT_EGRESS_HOSTS
from infra.plan.engine import Plan, run_program
from infra.private_profile import (
    AGENTS_SUBNET,
    CONTAINER_APPS_RUNNERS_SUBNET,
    CONTAINER_APPS_RUNNERS_SUBNET_INDEX,
)
from infra.runner_egress import RUNNER_EGRESS_HOSTS
from tests.infra.conftest import REPO, config_of, stack_config

PRIVATE_STACKS = ("staging", "prod")
FIREWALL = "azure-native:network:AzureFirewall"
RULES = "azure-native:network:FirewallPolicyRuleCollectionGroup"
ROUTE = "azure-native:network:Route"
ROUTE_TABLE = "azure-native:network:RouteTable"
ENVIRONMENT = "azure-native:app:ManagedEnvironment"
PROJECT_ROOT = REPO / "templates" / "mlflow-project" / "{{ cookiecutter.project_slug|slugify }}"

CONTAINER_APPS_HOSTS = {
    # https://learn.microsoft.com/azure/container-apps/use-azure-firewall, "Application rules":
    # All scenarios (MCR; AKS and Azure CNI binaries)
    "mcr.microsoft.com",
    "*.data.mcr.microsoft.com",
    "packages.aks.azure.com",
    "acs-mirror.azureedge.net",
    # Managed Identity
    "*.identity.azure.net",
    "login.microsoftonline.com",
    "*.login.microsoftonline.com",
    "*.login.microsoft.com",
    # Azure Container Registry and Azure Key Vault, less the registry's and the vault's own addresses, which resolve
    # to their private endpoints in the VNet; and the registry's `*.blob.core.windows.net`, which GitHub needs too
    "login.microsoft.com",
}
"""The page's rows for what the runners' environment uses: MCR and the AKS binaries (all scenarios), the managed
identity, ACR and Key Vault. Not Service Bus, Aspire, Docker Hub or the Azure China rows."""

GITHUB_HOSTS = {
    # https://docs.github.com/en/actions/reference/runners/self-hosted-runners#accessible-domains-by-function
    # Needed for essential operations (and, *.actions.githubusercontent.com, for retrieving OIDC tokens)
    "github.com",
    "api.github.com",
    "*.actions.githubusercontent.com",
    # Needed for downloading actions
    "codeload.github.com",
    "pkg.actions.githubusercontent.com",
    # Needed for uploading/downloading job summaries, logs, workflow artifacts, and caches
    "results-receiver.actions.githubusercontent.com",
    "*.blob.core.windows.net",
}
"""GitHub's list less runner version updates (the image registers `--disableupdate`), publishing immutable actions,
GitHub Packages, Git LFS and Dependabot, none of which a job on these runners does."""

WORKFLOW_HOSTS = {
    # actions/setup-python: CPython from actions/python-versions' releases (github.com redirects the download)
    "objects.githubusercontent.com",
    "release-assets.githubusercontent.com",
    # make setup: pip install uv, then uv sync from PyPI
    "pypi.org",
    "files.pythonhosted.org",
    # azure/login, the pipeline scripts: ARM, the Azure ML regional API
    "management.azure.com",
    "*.api.azureml.ms",
}


def _subnet(plan: Plan, name: str) -> dict[str, Any]:
    (subnet,) = [
        s for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"] if s["name"] == name
    ]
    return subnet


def _collection(plan: Plan, name: str) -> dict[str, Any]:
    (collection,) = [c for c in plan.one(RULES).inputs["ruleCollections"] if c["name"] == name]
    return collection


def _matches(pattern: str, host: str) -> bool:
    """Azure Firewall's target FQDN match: exact, or `*.` for any subdomain (not the bare domain)."""
    return host.endswith(pattern[1:]) if pattern.startswith("*.") else host == pattern


def _hosts() -> set[str]:
    return {host for rule in RUNNER_EGRESS_HOSTS for host in rule.hosts}


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_runner_subnet_routes_everything_outside_the_vnet_to_the_firewall_not_the_nat_gateway(
    plans: dict[str, Plan], stack: str
) -> None:
    """Container Apps supports user-defined routes, and so egress through Azure Firewall, on a workload-profiles
    environment only (not the consumption-only type): https://learn.microsoft.com/azure/container-apps/networking
    and https://learn.microsoft.com/azure/container-apps/use-azure-firewall. The UDR is set on the environment's
    subnet, outside the environment: its default route's next hop is the firewall's private address, as read from
    the firewall (the mock gives its one IP configuration 192.0.2.4)."""
    plan = plans[stack]
    assert config_of(stack).agent_egress == "firewall" and config_of(stack).github_container_apps
    environment = plan.one(ENVIRONMENT).inputs
    assert [p["workloadProfileType"] for p in environment["workloadProfiles"]] == ["Consumption"]
    subnet = _subnet(plan, CONTAINER_APPS_RUNNERS_SUBNET)
    space = ipaddress.ip_network(config_of(stack).vnet_address_space)
    assert subnet["addressPrefix"] == str(
        list(space.subnets(new_prefix=24))[CONTAINER_APPS_RUNNERS_SUBNET_INDEX]
    )
    table = plan.one(ROUTE_TABLE)
    assert subnet["routeTable"] == {"id": table.resource_id}
    assert "natGateway" not in subnet and subnet["defaultOutboundAccess"] is False
    (route,) = [
        r for r in plan.of_type(ROUTE) if r.inputs["routeTableName"] == table.inputs["routeTableName"]
    ]
    assert (route.inputs["addressPrefix"], route.inputs["nextHopType"]) == ("0.0.0.0/0", "VirtualAppliance")
    assert route.inputs["nextHopIpAddress"] == "192.0.2.4"
    assert plan.one(FIREWALL).name in route.dependencies
    # The environment pulls its platform images from MCR as it starts: it waits for its way out.
    assert route.name in plan.one(ENVIRONMENT).dependencies


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_firewall_allows_the_runner_subnet_exactly_its_allow_list_on_https(
    plans: dict[str, Plan], stack: str
) -> None:
    """Application rules filter outbound HTTP/S by host name on Basic too
    (https://learn.microsoft.com/azure/firewall/basic-features); each subnet's rules name only that subnet as
    source, so the runners get none of the agents' hosts (Pulumi, Azure DevOps) and the agents none of theirs."""
    plan = plans[stack]
    runners = _subnet(plan, CONTAINER_APPS_RUNNERS_SUBNET)["addressPrefix"]
    collection = _collection(plan, CONTAINER_APPS_RUNNERS_SUBNET)
    assert collection["action"] == {"type": "Allow"}
    wire = {rule["name"]: rule for rule in collection["rules"]}
    assert list(wire) == [rule.name for rule in RUNNER_EGRESS_HOSTS]
    for rule in RUNNER_EGRESS_HOSTS:
        assert wire[rule.name]["ruleType"] == "ApplicationRule"
        assert wire[rule.name]["sourceAddresses"] == [runners]
        assert wire[rule.name]["targetFqdns"] == list(rule.hosts)
        assert wire[rule.name]["protocols"] == [{"protocolType": "Https", "port": 443}]
    agents = _collection(plan, AGENTS_SUBNET)
    assert {s for r in agents["rules"] for s in r["sourceAddresses"]} == {
        _subnet(plan, AGENTS_SUBNET)["addressPrefix"]
    }
    assert [c["name"] for c in plan.one(RULES).inputs["ruleCollections"]] == [
        AGENTS_SUBNET,
        CONTAINER_APPS_RUNNERS_SUBNET,
    ]
    assert (
        not {h for r in AGENT_EGRESS_HOSTS for h in r.hosts if "pulumi" in h or "visualstudio" in h}
        & _hosts()
    )


def test_the_allow_list_is_what_microsoft_and_github_document_plus_what_the_jobs_call() -> None:
    """Container Apps behind Azure Firewall (https://learn.microsoft.com/azure/container-apps/use-azure-firewall),
    GitHub's self-hosted runner hosts by function
    (https://docs.github.com/en/actions/reference/runners/self-hosted-runners#accessible-domains-by-function),
    and the hosts the generated project's GitHub jobs reach; nothing more."""
    assert _hosts() == CONTAINER_APPS_HOSTS | GITHUB_HOSTS | WORKFLOW_HOSTS
    # The vault and the registry answer on their private endpoints: no rule names them.
    assert not {h for h in _hosts() if h.endswith((".vault.azure.net", ".azurecr.io"))}


def test_no_runner_update_host_because_the_image_registers_with_updates_off() -> None:
    """A runner registered with `--disableupdate` never downloads a new release
    (https://docs.github.com/en/actions/reference/runners/self-hosted-runners#runner-software-updates-on-self-hosted-runners),
    so GitHub's "runner version updates" hosts other than the releases' download host stay out."""
    entrypoint = (REPO / "infra" / "runner_image" / "entrypoint.sh").read_text()
    assert re.search(r"config\.sh .*--ephemeral .*--disableupdate", entrypoint.replace("\\\n", " "))
    assert not {"objects-origin.githubusercontent.com", "github-releases.githubusercontent.com"} & _hosts()
    assert not {"ghcr.io", "*.pkg.github.com", "github-cloud.githubusercontent.com"} & _hosts()


def test_the_generated_projects_jobs_need_no_host_beyond_the_list() -> None:
    """What the jobs on these runners run: the generated project's workflows (actions/checkout, setup-python, cache,
    azure/login, make setup) and the pipeline scripts, whose every https:// host the allow-list must match."""
    action = (PROJECT_ROOT / ".github" / "actions" / "azure-python" / "action.yml").read_text()
    for step in ("actions/setup-python@", "actions/cache@", "azure/login@", "make setup"):
        assert step in action, step
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "pip install --quiet --disable-pip-version-check uv==" in makefile
    assert "UV_PYTHON_DOWNLOADS := never" in makefile  # uv downloads no interpreter: no astral.sh host
    called = set()
    for path in [*(REPO / "pipelines" / "scripts").glob("*.py"), *(PROJECT_ROOT / ".github").rglob("*.yml")]:
        for line in path.read_text().splitlines():
            if not line.lstrip().startswith("#"):
                called |= set(re.findall(r"https://([A-Za-z0-9.-]+)", line))
    called -= {"learn.microsoft.com"}  # links in docstrings, not calls
    assert called, "the scan found no host: the scripts' calls moved"
    assert {h for h in called if not any(_matches(p, h) for p in _hosts())} == set()


def test_with_nat_egress_the_runner_subnet_keeps_the_nat_gateway_and_no_firewall_exists() -> None:
    """agentEgress: nat (staging may choose it, prod may not: tests/infra/test_agent_egress.py) gives both CI/CD
    subnets the NAT gateway's HTTPS to any host, the workload-profiles environment's other documented way out
    (https://learn.microsoft.com/azure/container-apps/networking)."""
    plan = run_program("staging", stack_config("staging", agentEgress="nat"))
    subnet = _subnet(plan, CONTAINER_APPS_RUNNERS_SUBNET)
    assert subnet["natGateway"] == {"id": plan.one("azure-native:network:NatGateway").resource_id}
    assert "routeTable" not in subnet
    assert plan.of_type(FIREWALL) == [] and plan.of_type(ROUTE_TABLE) == []
    assert not [d for d in plan.one(ENVIRONMENT).dependencies if "route" in d]


def test_a_stack_without_runner_jobs_gets_only_the_agents_allow_list() -> None:
    config = stack_config("staging", githubRunners="none")
    for key in ("githubRunnerUrl", "githubAppId", "githubAppInstallationId"):
        del config[f"azure-mlops:{key}"]  # the config refuses the container-apps keys without that mode
    plan = run_program("staging", config)
    assert [c["name"] for c in plan.one(RULES).inputs["ruleCollections"]] == [AGENTS_SUBNET]
    assert plan.of_type(ENVIRONMENT) == []


def test_the_docs_egress_sections_name_the_same_hosts() -> None:
    """docs/private-profile.md lists the runners' allow-list as the code does."""
    doc = (REPO / "docs" / "private-profile.md").read_text()
    section = doc[doc.index("### The GitHub runner jobs' egress") :]
    section = section[: section.index("\n## ")]
    assert {h for h in _hosts() if f"`{h}`" not in section} == set()
