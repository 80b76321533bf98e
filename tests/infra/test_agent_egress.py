"""The build agents' egress allow-list: an Azure Firewall Basic in each private stack's VNet, its application rules,
the agents' default route through it, their narrowed NSG, its logs, its price, and the config that turns it off.

The committed private stacks (staging, prod) run under the mock engine; the allow-list is compared with the hosts
Microsoft documents and with the hosts the pipeline steps call.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from infra.agent_egress import AGENT_EGRESS_HOSTS, FIREWALL_SUBNET_INDEX, firewall_subnets
from infra.components.egress_firewall import (
    FIREWALL_MANAGEMENT_SUBNET,
    FIREWALL_SUBNET,
    AllowList,
    EgressFirewallArgs,
    HostRule,
)
from infra.config import PROJECT
from infra.errors import InvalidStackConfig
from infra.plan import cost
from infra.plan.engine import Plan, run_program
from infra.private_profile import AGENTS_SUBNET, CONTAINER_APPS_RUNNERS_SUBNET
from pipelines.validation.documents import PIPELINES_ROOT
from tests.infra.conftest import REPO, config_of, stack_config

PRIVATE_STACKS = ("staging", "prod")
FIREWALL = "azure-native:network:AzureFirewall"
POLICY = "azure-native:network:FirewallPolicy"
RULES = "azure-native:network:FirewallPolicyRuleCollectionGroup"
ROUTE = "azure-native:network:Route"
ROUTE_TABLE = "azure-native:network:RouteTable"
(RUNNER_IMAGE_BUILD,) = [rule for rule in AGENT_EGRESS_HOSTS if rule.name == "runner-image-build"]
"""The one rule the runner image build adds (runnerimage helper's entry, kept apart from the agents' own)."""

MANAGED_DEVOPS_POOLS_HOSTS = {
    # https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking#restricting-outbound-connectivity
    "*.prod.manageddevops.microsoft.com",
    "rmprodbuilds.azureedge.net",
    "vstsagentpackage.azureedge.net",
    "download.agent.dev.azure.com",
    "*.queue.core.windows.net",
    "server.pipe.aria.microsoft.com",
    "azure.archive.ubuntu.com",
    "www.microsoft.com",
    "security.ubuntu.com",
    "packages.microsoft.com",
    "ppa.launchpad.net",
    "dev.azure.com",
    "*.services.visualstudio.com",
    "*.vsblob.visualstudio.com",
    "*.vssps.visualstudio.com",
    "*.visualstudio.com",
}
"""The page's list less `dl.fedoraproject.org` ("certain Linux distros": the agents run Ubuntu) and
`md-*.blob.storage.azure.net` (data disks, which the pool does not use)."""


def _subnet(plan: Plan, name: str) -> dict[str, Any]:
    (subnet,) = [
        s for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"] if s["name"] == name
    ]
    return subnet


def _collection(plan: Plan, subnet: str = AGENTS_SUBNET) -> dict[str, Any]:
    """The policy's rule collection of one filtered subnet (each subnet has its own allow-list)."""
    (collection,) = [c for c in plan.one(RULES).inputs["ruleCollections"] if c["name"] == subnet]
    return collection


def _allowed(plan: Plan) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in _collection(plan)["rules"]}


def _matches(pattern: str, host: str) -> bool:
    """Azure Firewall's target FQDN match: exact, or `*.` for any subdomain."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_a_basic_firewall_sits_in_the_ninth_slash_24_with_its_management_subnet(
    plans: dict[str, Plan], stack: str
) -> None:
    """Basic always has a management NIC: its traffic goes through AzureFirewallManagementSubnet (a /26 at least)
    with its own public address (https://learn.microsoft.com/azure/firewall/management-nic); the data path is
    AzureFirewallSubnet, also a /26 at least. Neither subnet takes an NSG."""
    plan = plans[stack]
    firewall = plan.one(FIREWALL)
    assert firewall.inputs["sku"] == {"name": "AZFW_VNet", "tier": "Basic"}
    policy = plan.one(POLICY)
    assert policy.inputs["sku"] == {"tier": "Basic"} and policy.inputs["threatIntelMode"] == "Alert"
    assert firewall.inputs["firewallPolicy"] == {"id": policy.resource_id}
    ninth = list(ipaddress.ip_network(config_of(stack).vnet_address_space).subnets(new_prefix=24))[8]
    data, management = (_subnet(plan, name) for name in (FIREWALL_SUBNET, FIREWALL_MANAGEMENT_SUBNET))
    assert [data["addressPrefix"], management["addressPrefix"]] == [
        str(s) for s in list(ninth.subnets(new_prefix=26))[:2]
    ]
    assert "networkSecurityGroup" not in data and "networkSecurityGroup" not in management
    vnet = plan.one("azure-native:network:VirtualNetwork").resource_id
    (configuration,) = firewall.inputs["ipConfigurations"]
    assert configuration["subnet"] == {"id": f"{vnet}/subnets/{FIREWALL_SUBNET}"}
    assert firewall.inputs["managementIpConfiguration"]["subnet"] == {
        "id": f"{vnet}/subnets/{FIREWALL_MANAGEMENT_SUBNET}"
    }
    addresses = {
        configuration["publicIPAddress"]["id"],
        firewall.inputs["managementIpConfiguration"]["publicIPAddress"]["id"],
    }
    assert len(addresses) == 2 and all(plan.by_id(a).inputs["sku"]["name"] == "Standard" for a in addresses)


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_agents_default_route_goes_to_the_firewall_and_not_the_nat_gateway(
    plans: dict[str, Plan], stack: str
) -> None:
    """A route to a virtual appliance takes the firewall's private address as its next hop; the address is read from
    the firewall (it may change when the firewall is stopped and started:
    https://learn.microsoft.com/azure/firewall/management-nic), never computed."""
    plan = plans[stack]
    subnet = _subnet(plan, AGENTS_SUBNET)
    table = plan.one(ROUTE_TABLE)
    assert subnet["routeTable"] == {"id": table.resource_id} and "natGateway" not in subnet
    route = plan.one(ROUTE)
    assert route.inputs["routeTableName"] == table.inputs["routeTableName"]
    assert (route.inputs["addressPrefix"], route.inputs["nextHopType"]) == ("0.0.0.0/0", "VirtualAppliance")
    assert plan.one(FIREWALL).name in route.dependencies
    assert ipaddress.ip_address(route.inputs["nextHopIpAddress"])
    # Only the CI/CD subnets are routed (the runner jobs': tests/infra/test_runner_egress.py); every other subnet
    # keeps its own way out.
    routed = [
        s["name"]
        for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"]
        if "routeTable" in s
    ]
    runner_jobs = [CONTAINER_APPS_RUNNERS_SUBNET] if config_of(stack).github_container_apps else []
    assert routed == [AGENTS_SUBNET, *runner_jobs]


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_rules_allow_the_agents_subnet_exactly_the_allow_list_and_nothing_else(
    plans: dict[str, Plan], stack: str
) -> None:
    """Application rules filter outbound HTTP/S by host name, wildcards included, on Basic too
    (https://learn.microsoft.com/azure/firewall/basic-features); what no rule allows is denied."""
    plan = plans[stack]
    agents = _subnet(plan, AGENTS_SUBNET)["addressPrefix"]
    collection = _collection(plan)
    assert collection["action"] == {"type": "Allow"}
    allowed = _allowed(plan)
    assert list(allowed) == [rule.name for rule in AGENT_EGRESS_HOSTS]
    for rule in AGENT_EGRESS_HOSTS:
        wire = allowed[rule.name]
        assert wire["ruleType"] == "ApplicationRule" and wire["sourceAddresses"] == [agents]
        assert wire["targetFqdns"] == list(rule.hosts)
        assert wire["protocols"] == [
            {"protocolType": p, "port": {"Https": 443, "Http": 80}[p]} for p in rule.protocols
        ]
    plain_http = {
        h
        for r in allowed.values()
        if {"protocolType": "Http", "port": 80} in r["protocols"]
        for h in r["targetFqdns"]
    }
    # The agents' own Ubuntu setup, and the runner image's apt (infra/runner_image/Dockerfile's base image).
    assert plain_http == {"azure.archive.ubuntu.com", *RUNNER_IMAGE_BUILD.hosts}


def test_the_allow_list_is_the_documented_hosts_plus_what_the_steps_call() -> None:
    """Managed DevOps Pools' required hosts
    (https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking#restricting-outbound-connectivity),
    Entra ID and ARM from Azure DevOps' list
    (https://learn.microsoft.com/azure/devops/organizations/security/allow-list-ip-url), and every https:// host a
    pipeline step or script calls; nothing else but the Pulumi state secrets and the package index."""
    hosts = {host for rule in AGENT_EGRESS_HOSTS for host in rule.hosts}
    assert hosts >= MANAGED_DEVOPS_POOLS_HOSTS
    assert {
        "login.microsoftonline.com",
        "management.azure.com",
        "pypi.org",
        "files.pythonhosted.org",
    } <= hosts
    called = set()
    for path in [*PIPELINES_ROOT.rglob("*.yml"), *(REPO / "pipelines" / "scripts").glob("*.py")]:
        for line in path.read_text().splitlines():
            if not line.lstrip().startswith("#"):
                called |= set(re.findall(r"https://([A-Za-z0-9.-]+)", line))
    called -= {"learn.microsoft.com"}  # links in docstrings, not calls
    assert called, "the scan found no host: the pipelines' calls moved"
    assert {h for h in called if not any(_matches(p, h) for p in hosts)} == set()
    extra = hosts - MANAGED_DEVOPS_POOLS_HOSTS - called
    assert extra == {
        "*.dev.azure.com",
        "*.vsassets.io",
        "*.blob.core.windows.net",
        "login.microsoftonline.com",
        "*.api.azureml.ms",
        "*.vault.azure.net",
        "api.pulumi.com",
        "pypi.org",
        "files.pythonhosted.org",
        *(
            set(RUNNER_IMAGE_BUILD.hosts) - MANAGED_DEVOPS_POOLS_HOSTS
        ),  # security.ubuntu.com: theirs over HTTPS
    }


def test_the_runner_image_build_reaches_its_base_image_registry_and_nothing_else_of_githubs() -> None:
    """The one rule the runner image build adds (templates/jobs/runner-prerequisites.yml): the Dockerfile's FROM
    registry and its layer host, the Ubuntu archive of its apt-get; not github.com itself."""
    dockerfile = (REPO / "infra" / "runner_image" / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert base.split("/", 1)[0] in RUNNER_IMAGE_BUILD.hosts and "apt-get update" in dockerfile
    assert set(RUNNER_IMAGE_BUILD.hosts) == {
        "ghcr.io",
        "pkg-containers.githubusercontent.com",
        "archive.ubuntu.com",
        "security.ubuntu.com",
    }


def test_uv_never_downloads_an_interpreter_so_no_github_or_astral_host_is_needed() -> None:
    """The allow-list has no python-build-standalone host because the step forbids interpreter downloads."""
    step = (PIPELINES_ROOT / "templates" / "steps" / "setup-python-uv.yml").read_text()
    assert (
        "UV_PYTHON_DOWNLOADS: never" in step
        and 'pip install --disable-pip-version-check --quiet "uv==' in step
    )
    hosts = {host for rule in AGENT_EGRESS_HOSTS for host in rule.hosts}
    assert not {h for h in hosts if "github.com" in h and h != "api.github.com"} and not {
        h for h in hosts if "astral" in h
    }


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_agents_nsg_keeps_web_ports_for_the_firewall_and_https_only_inside_the_vnet(
    plans: dict[str, Plan], stack: str
) -> None:
    """An NSG sees the packet's destination, not its next hop: internet-bound traffic stays `Internet` to it, and
    only web ports may leave (the firewall then decides by host). Inside the VNet only HTTPS, for the private
    endpoints, instead of Azure's AllowVnetOutBound (every port)."""
    plan = plans[stack]
    nsg = plan.by_id(_subnet(plan, AGENTS_SUBNET)["networkSecurityGroup"]["id"])
    rules = {rule["name"]: rule for rule in nsg.inputs["securityRules"]}
    allowed = sorted(
        (r["destinationAddressPrefix"], tuple(r.get("destinationPortRanges") or [r["destinationPortRange"]]))
        for r in rules.values()
        if r["access"] == "Allow" and r["direction"] == "Outbound"
    )
    assert allowed == [("Internet", ("443", "80")), ("VirtualNetwork", ("443",))]
    assert "allow-azure-devops" not in rules  # Azure DevOps is now allowed by host, at the firewall
    deny_vnet, deny_internet = rules["deny-other-vnet"], rules["deny-internet"]
    assert (deny_vnet["destinationAddressPrefix"], deny_vnet["destinationPortRange"]) == (
        "VirtualNetwork",
        "*",
    )
    assert all(
        r["priority"] < deny_vnet["priority"] < deny_internet["priority"]
        for r in rules.values()
        if r["access"] == "Allow"
    )


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_firewall_logs_go_to_the_stacks_log_analytics(plans: dict[str, Plan], stack: str) -> None:
    """Azure Firewall's resource-specific log tables (application and network rule hits) are collected by a
    diagnostic setting like every other resource's (https://learn.microsoft.com/azure/firewall/firewall-diagnostics)."""
    plan = plans[stack]
    firewall = plan.one(FIREWALL).resource_id
    (setting,) = [
        s
        for s in plan.of_type("azure-native:monitor:DiagnosticSetting")
        if s.inputs["resourceUri"] == firewall
    ]
    assert setting.inputs["workspaceId"] == plan.one("azure-native:operationalinsights:Workspace").resource_id
    assert setting.inputs["logAnalyticsDestinationType"] == "Dedicated"
    assert setting.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]


def test_the_firewall_is_priced_by_its_tier_and_the_public_profile_has_none(plans: dict[str, Plan]) -> None:
    estimate = cost.estimate(plans["prod"])
    (line,) = [line for line in estimate.lines if line.resource == plans["prod"].one(FIREWALL).name]
    table = cost.price_table()
    assert (
        line.idle
        == line.full
        == round(table["managedFirewallHourly"]["Basic"]["westeurope"] * table["hoursPerMonth"], 2)
    )
    assert any(name == line.resource and "GB processed" in unit for name, unit, _ in estimate.usage)
    assert plans["dev"].of_type(FIREWALL) == [] and plans["dev"].of_type(ROUTE_TABLE) == []


@pytest.mark.parametrize(
    ("stack", "overrides", "message"),
    [
        (
            "prod",
            {"agentEgress": "nat"},
            "agentEgress = 'nat': must be 'firewall' when environment is 'prod'",
        ),
        (
            "staging",
            {"vnetAddressSpace": "10.42.0.0/21"},
            "vnetAddressSpace = '10.42.0.0/21': must be a /20 or larger when agentEgress is 'firewall'",
        ),
        ("staging", {"agentEgress": "proxy"}, "agentEgress = 'proxy': Input should be 'firewall' or 'nat'"),
    ],
)
def test_bad_egress_settings_are_refused_naming_the_key_before_anything_is_declared(
    stack: str, overrides: dict[str, str], message: str
) -> None:
    plan = Plan(stack=stack)
    with pytest.raises(InvalidStackConfig) as raised:
        run_program(stack, stack_config(stack, **overrides), into=plan)
    assert f"{PROJECT}:{message}" in str(raised.value)
    assert plan.resources == []


def test_a_slash_21_vnet_fits_the_agents_with_nat_egress() -> None:
    plan = run_program("staging", stack_config("staging", vnetAddressSpace="10.42.0.0/21", agentEgress="nat"))
    assert plan.of_type(FIREWALL) == []


def test_the_firewall_subnets_need_a_ninth_slash_24() -> None:
    with pytest.raises(
        ValueError, match="no ninth /24 for the egress firewall's subnets; use a /20 or larger"
    ):
        firewall_subnets("10.60.0.0/21")
    data, management = firewall_subnets("10.60.0.0/20")
    assert FIREWALL_SUBNET_INDEX == 8 and (data.address_prefix, management.address_prefix) == (
        "10.60.8.0/26",
        "10.60.8.64/26",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hosts": ("https://pypi.org",)}, "must be host names"),
        ({"hosts": ("pypi.*",)}, "must be host names"),
        ({"hosts": ()}, "must be host names"),
        ({"protocols": ("Mssql",)}, "must be some of ['Https', 'Http']"),
    ],
)
def test_host_rules_refuse_what_is_not_a_host_name_or_a_web_protocol(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        HostRule(**{"name": "r", "hosts": ("pypi.org",), "why": "test", **kwargs})
    assert str(raised.value).startswith("HostRule 'r':")


def test_firewall_args_refuse_an_unknown_tier_and_repeated_rule_or_list_names() -> None:
    agents = AllowList(name="agents", source_prefixes=("10.0.5.0/24",), rules=AGENT_EGRESS_HOSTS)
    base: dict[str, Any] = {
        "resource_group_name": "rg",
        "location": "westeurope",
        "firewall_name": "afw",
        "policy_name": "afwp",
        "public_ip_name": "pip",
        "management_public_ip_name": "pip-mgmt",
        "subnet_id": "s",
        "management_subnet_id": "m",
        "route_table_name": "rt",
        "allow_lists": (agents,),
        "tags": {},
    }
    assert EgressFirewallArgs(**base).tier == "Basic"
    with pytest.raises(ValueError, match="tier = 'Premium': must be Basic or Standard"):
        EgressFirewallArgs(**base, tier="Premium")
    with pytest.raises(ValueError, match=re.escape("allow_lists: names repeat in ['agents', 'agents']")):
        EgressFirewallArgs(**{**base, "allow_lists": (agents, agents)})
    with pytest.raises(ValueError, match="a firewall needs at least one allow-list"):
        EgressFirewallArgs(**{**base, "allow_lists": ()})
    with pytest.raises(ValueError, match="AllowList 'agents': rule names repeat"):
        AllowList(name="agents", source_prefixes=("10.0.5.0/24",), rules=AGENT_EGRESS_HOSTS[:1] * 2)
    with pytest.raises(ValueError, match="AllowList 'agents': source_prefixes and rules"):
        AllowList(name="agents", source_prefixes=(), rules=AGENT_EGRESS_HOSTS)
