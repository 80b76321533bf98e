"""The private profile's CI/CD agents: a Managed DevOps Pool in the VNet, provisioned by the stack.

The private stacks' plans hold the pool, its Dev Center project, the delegated subnet with its NSG and the
DevOpsInfrastructure principal's roles on the VNet; the public profile has none of it; a private stack without
what only the user knows fails naming the key. The pipelines' side: tests/infra/test_agent_pool_pipelines.py.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Any

import pytest

from infra.components.agent_pool import AGENT_IMAGE, AgentPoolArgs
from infra.config import PROJECT
from infra.errors import InvalidStackConfig
from infra.naming import ResourceNames
from infra.plan import cost
from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID, Plan, run_program
from infra.private_profile import AGENTS_DELEGATION, AGENTS_SUBNET, AZURE_DEVOPS_RANGES, subnets
from infra.roles import BuiltInRole
from tests.infra.conftest import agent_pool_name, config_of, stack_config

PRIVATE_STACKS = ("staging", "prod")
POOL = "azure-native:devopsinfrastructure:Pool"
DEV_CENTER = "azure-native:devcenter:DevCenter"
PROJECT_TYPE = "azure-native:devcenter:Project"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def _subnet(plan: Plan, name: str) -> dict[str, Any]:
    (subnet,) = [
        s for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"] if s["name"] == name
    ]
    return subnet


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stacks_hold_a_stateless_pool_for_named_projects_in_its_own_subnet(
    plans: dict[str, Plan], stack: str
) -> None:
    plan, config = plans[stack], config_of(stack)
    pool = plan.one(POOL)
    assert pool.inputs["poolName"] == agent_pool_name(stack) == plan.outputs["agentPoolName"]
    assert pool.inputs["devCenterProjectResourceId"] == plan.one(PROJECT_TYPE).resource_id
    assert plan.one(PROJECT_TYPE).inputs["devCenterId"] == plan.one(DEV_CENTER).resource_id
    assert pool.inputs["agentProfile"] == {"kind": "Stateless"}
    assert pool.inputs["maximumConcurrency"] == config.agent_pool_max_agents
    (organization,) = pool.inputs["organizationProfile"]["organizations"]
    assert organization == {
        "url": config.agent_pool_organization_url,
        "projects": list(config.agent_pool_projects),
        "openAccess": False,
        "parallelism": config.agent_pool_max_agents,
    }
    assert pool.inputs["organizationProfile"]["permissionProfile"] == {"kind": "CreatorOnly"}
    fabric = pool.inputs["fabricProfile"]
    assert fabric["kind"] == "Vmss" and fabric["sku"] == {"name": config.agent_pool_vm_size}
    assert [image["wellKnownImageName"] for image in fabric["images"]] == [AGENT_IMAGE]
    vnet = plan.one("azure-native:network:VirtualNetwork").resource_id
    assert fabric["networkProfile"] == {"subnetId": f"{vnet}/subnets/{AGENTS_SUBNET}"}
    assert pool.inputs["location"] == plan.one("azure-native:network:VirtualNetwork").inputs["location"]


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_agents_subnet_is_the_sixth_slash_24_delegated_to_managed_devops_pools(
    plans: dict[str, Plan], stack: str
) -> None:
    """A pool's subnet must be delegated to Microsoft.DevOpsInfrastructure/pools and hold its largest size plus
    Azure's five reserved addresses; the pool and the VNet must share a region
    (https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking)."""
    plan = plans[stack]
    subnet = _subnet(plan, AGENTS_SUBNET)
    assert subnet["delegations"] == [{"name": AGENTS_SUBNET, "serviceName": AGENTS_DELEGATION}]
    blocks = list(ipaddress.ip_network(config_of(stack).vnet_address_space).subnets(new_prefix=24))
    assert subnet["addressPrefix"] == str(blocks[5])
    assert (
        ipaddress.ip_network(subnet["addressPrefix"]).num_addresses - 5
        >= config_of(stack).agent_pool_max_agents
    )
    # Egress: through the firewall by default (tests/infra/test_agent_egress.py), never Azure's implicit access.
    assert subnet["defaultOutboundAccess"] is False and "natGateway" not in subnet


@pytest.fixture(scope="module")
def nat_plan() -> Plan:
    """staging with agentEgress: nat, the opt-out of the egress firewall."""
    return run_program("staging", stack_config("staging", agentEgress="nat"))


def test_with_agent_egress_nat_the_agents_leave_through_the_nat_gateway(nat_plan: Plan) -> None:
    subnet = _subnet(nat_plan, AGENTS_SUBNET)
    nat = nat_plan.one("azure-native:network:NatGateway").resource_id
    assert subnet["natGateway"] == {"id": nat} and subnet["defaultOutboundAccess"] is False
    assert "routeTable" not in subnet and nat_plan.of_type("azure-native:network:AzureFirewall") == []


def test_agents_reach_azure_devops_its_documented_dependencies_and_nothing_else(nat_plan: Plan) -> None:
    """Without the firewall (agentEgress: nat) the NSG is the only filter. Agents need Azure DevOps (its documented
    outbound IPv4 ranges; no outbound service tag exists:
    https://learn.microsoft.com/azure/devops/organizations/security/allow-list-ip-url) and the pool's dependencies
    Microsoft lists by host name, all HTTPS but Ubuntu's archive (plain HTTP)
    (https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking#restricting-outbound-connectivity).
    The stack's private endpoints are VNet traffic, which the deny rule (destination Internet) leaves alone."""
    plan = nat_plan
    nsg = plan.by_id(_subnet(plan, AGENTS_SUBNET)["networkSecurityGroup"]["id"])
    rules = {rule["name"]: rule for rule in nsg.inputs["securityRules"]}
    devops = rules["allow-azure-devops"]
    assert devops["destinationAddressPrefixes"] == list(AZURE_DEVOPS_RANGES)
    assert (devops["access"], devops["direction"], devops["destinationPortRange"]) == (
        "Allow",
        "Outbound",
        "443",
    )
    allowed_out = sorted(
        (r.get("destinationAddressPrefix"), r.get("destinationPortRange"))
        for r in rules.values()
        if r["access"] == "Allow" and r["direction"] == "Outbound" and r is not devops
    )
    assert allowed_out == [("Internet", "443"), ("Internet", "80")]
    deny = rules["deny-internet"]
    assert (deny["access"], deny["destinationAddressPrefix"], deny["destinationPortRange"]) == (
        "Deny",
        "Internet",
        "*",
    )
    assert all(r["priority"] < deny["priority"] for r in rules.values() if r["access"] == "Allow")
    # Nothing connects to an agent: no inbound allow rule, and a deny above Azure's VNet and load balancer rules.
    assert not [r for r in rules.values() if r["direction"] == "Inbound" and r["access"] == "Allow"]
    assert rules["deny-other-inbound"]["sourceAddressPrefix"] == "*"


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_devops_infrastructure_principal_gets_reader_and_network_contributor_on_the_vnet_first(
    plans: dict[str, Plan], stack: str
) -> None:
    """Managed DevOps Pools joins agents to the subnet as the DevOpsInfrastructure service principal, which needs
    Reader and Network Contributor on the virtual network
    (https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking)."""
    plan = plans[stack]
    principal = config_of(stack).dev_ops_infrastructure_principal_id
    vnet = plan.one("azure-native:network:VirtualNetwork").resource_id
    grants = [r for r in plan.of_type(ASSIGNMENT) if r.inputs["principalId"] == principal]
    assert sorted(r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for r in grants) == sorted(
        [BuiltInRole.READER.value, BuiltInRole.NETWORK_CONTRIBUTOR.value]
    )
    assert {r.inputs["scope"] for r in grants} == {vnet}
    assert {r.inputs["principalType"] for r in grants} == {"ServicePrincipal"}
    assert {r.name for r in grants} <= set(plan.one(POOL).dependencies)


def test_the_public_profile_has_no_pool_and_exports_an_empty_name(plans: dict[str, Plan]) -> None:
    plan = plans["dev"]
    assert not config_of("dev").is_private
    assert [r for r in plan.resources if r.type in (POOL, DEV_CENTER, PROJECT_TYPE)] == []
    assert plan.outputs["agentPoolName"] == ""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"agentPoolOrganizationUrl": ""},
            "agentPoolOrganizationUrl is unset: is required when networkProfile is",
        ),
        (
            {"agentPoolProjects": "[]"},
            "agentPoolProjects is unset: is required when networkProfile is 'private'",
        ),
        (
            {"devOpsInfrastructurePrincipalId": ""},
            "devOpsInfrastructurePrincipalId is unset: is required when networkProfile is 'private'",
        ),
        (
            {"vnetAddressSpace": "10.40.0.0/22"},
            "'10.40.0.0/22': must be a /21 or larger when networkProfile is",
        ),
        (
            {"agentPoolOrganizationUrl": "https://contoso.visualstudio.com"},
            "agentPoolOrganizationUrl = 'https://",
        ),
        (
            {"agentPoolProjects": '["mlops", "mlops"]'},
            "agentPoolProjects = ['mlops', 'mlops']: must not repeat",
        ),
        ({"agentPoolMaxAgents": "0"}, "agentPoolMaxAgents = '0': Input should be greater than or equal to 1"),
    ],
)
def test_a_private_stack_without_what_only_the_user_knows_fails_naming_the_key(
    overrides: dict[str, str], message: str
) -> None:
    plan = Plan(stack="staging")
    with pytest.raises(InvalidStackConfig) as raised:
        run_program("staging", stack_config("staging", **overrides), into=plan)
    assert message in str(raised.value)
    assert f"{PROJECT}:{next(iter(overrides))}" in str(raised.value)
    assert plan.resources == []  # refused before anything is declared


def test_a_public_stack_refuses_pool_keys_that_would_be_ignored() -> None:
    with pytest.raises(InvalidStackConfig) as raised:
        run_program("dev", stack_config("dev", agentPoolOrganizationUrl="https://dev.azure.com/contoso"))
    assert (
        "azure-mlops:agentPoolOrganizationUrl = 'https://dev.azure.com/contoso': has no effect when "
        "networkProfile is 'public'" in str(raised.value)
    )


def test_the_pool_name_is_global_yet_derived_from_the_stack_file_alone() -> None:
    def names(subscription: str, environment: str = "staging") -> ResourceNames:
        return ResourceNames.for_stack(
            workload="mlops",
            environment=environment,
            location="westeurope",
            subscription_id=subscription,
            project=PROJECT,
            stack=environment,
        )

    url = "https://dev.azure.com/contoso"
    name = names(DEFAULT_SUBSCRIPTION_ID).agent_pool(url)
    assert re.fullmatch(r"mdp-mlops-staging-[0-9a-z]{6}", name)
    # The same for any subscription (the pipeline knows no subscription at compile time) ...
    assert names("00000000-0000-0000-0000-000000000000").agent_pool(url) == name
    assert names(DEFAULT_SUBSCRIPTION_ID).agent_pool(url.upper() + "/") == name
    # ... and different for another organization or environment, so pools never collide.
    assert names(DEFAULT_SUBSCRIPTION_ID).agent_pool("https://dev.azure.com/fabrikam") != name
    assert names(DEFAULT_SUBSCRIPTION_ID, "prod").agent_pool(url) != name


def test_a_vnet_too_small_for_the_agents_subnet_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="no sixth /24 for the agents subnet; use a /21 or larger"):
        subnets("10.60.0.0/22", agents=True)
    assert subnets("10.60.0.0/21", agents=True)[-1].name == AGENTS_SUBNET


def test_pool_args_refuse_open_access_and_sizes_out_of_range() -> None:
    base: dict[str, Any] = {
        "resource_group_name": "rg",
        "location": "westeurope",
        "dev_center_name": "dc",
        "project_name": "dcp",
        "pool_name": "mdp-x",
        "organization_url": "https://dev.azure.com/contoso",
        "projects": ("mlops",),
        "subnet_id": "/subnets/agents",
        "grants": (),
        "subscription_id": DEFAULT_SUBSCRIPTION_ID,
        "stack_suffix": "abc123",
        "tags": {},
    }
    with pytest.raises(ValueError, match=r"AgentPoolArgs.projects: must name at least one"):
        AgentPoolArgs(**{**base, "projects": ()})
    with pytest.raises(ValueError, match=r"AgentPoolArgs.max_agents = 51: must be 1-50"):
        AgentPoolArgs(**{**base, "max_agents": 51})
    assert AgentPoolArgs(**base).max_agents == 2


def test_the_pool_is_priced_per_agent_hour_of_its_vm_size_and_an_unknown_size_is_reported(
    plans: dict[str, Plan],
) -> None:
    plan = plans["prod"]
    estimate = cost.estimate(plan)
    (line,) = [u for u in estimate.usage if u[0] == "agents-pool"]
    size = config_of("prod").agent_pool_vm_size
    assert line[2] == cost.price_table()["vmHourly"][size]["Dedicated"][config_of("prod").location]
    assert size in line[1] and "agent-hour" in line[1]
    pool = plan.named("agents-pool")
    fabric = {**pool.inputs["fabricProfile"], "sku": {"name": "Standard_Z99_v9"}}
    odd = dataclasses.replace(pool, inputs={**pool.inputs, "fabricProfile": fabric})
    repriced = cost.estimate(dataclasses.replace(plan, resources=[odd]))
    assert repriced.usage == [] and repriced.unpriced == [
        ("agents-pool", f"no price for agent VM size 'Standard_Z99_v9' in {pool.inputs['location']}")
    ]
