"""The private profile's CI/CD agents: a Managed DevOps Pool in the VNet, provisioned by the stack.

The private stacks' plans hold the pool, its Dev Center project, the delegated subnet with its NSG and the
DevOpsInfrastructure principal's roles on the VNet; the public profile has none of it. infra.yml names the pool
exactly as the stack derives it, runs every job that touches a private stack's data plane there, and brings the
pool (and only what it depends on) up to date from Microsoft-hosted agents first.
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
from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID, Plan, PlannedResource, run_program
from infra.plan.scenarios import SCENARIOS
from infra.private_profile import AGENTS_DELEGATION, AGENTS_SUBNET, AZURE_DEVOPS_RANGES, subnets
from infra.roles import BuiltInRole
from pipelines.validation.documents import PIPELINES_ROOT, load
from pipelines.validation.expressions import evaluate
from pipelines.validation.templates import expand
from tests.infra.conftest import REPO, config_of, stack_config

PRIVATE_STACKS = ("staging", "prod")
POOL = "azure-native:devopsinfrastructure:Pool"
DEV_CENTER = "azure-native:devcenter:DevCenter"
PROJECT_TYPE = "azure-native:devcenter:Project"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def _names(stack: str) -> ResourceNames:
    config = config_of(stack)
    return ResourceNames.for_stack(
        workload=config.workload,
        environment=config.environment,
        location=config.location,
        subscription_id=DEFAULT_SUBSCRIPTION_ID,
        project=PROJECT,
        stack=stack,
    )


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
    expected_name = _names(stack).agent_pool(str(config.agent_pool_organization_url))
    assert pool.inputs["poolName"] == expected_name == plan.outputs["agentPoolName"]
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
    nat = plan.one("azure-native:network:NatGateway").resource_id
    assert subnet["natGateway"] == {"id": nat} and subnet["defaultOutboundAccess"] is False


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_agents_reach_azure_devops_its_documented_dependencies_and_nothing_else(
    plans: dict[str, Plan], stack: str
) -> None:
    """Agents need Azure DevOps (its documented outbound IPv4 ranges; no outbound service tag exists:
    https://learn.microsoft.com/azure/devops/organizations/security/allow-list-ip-url) and the pool's dependencies
    Microsoft lists by host name, all HTTPS but Ubuntu's archive (plain HTTP)
    (https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-networking#restricting-outbound-connectivity).
    The stack's private endpoints are VNet traffic, which the deny rule (destination Internet) leaves alone."""
    plan = plans[stack]
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


# --- infra.yml: the pool by name, on every job that touches a private stack's data plane ---------------------


def _expanded_stages() -> dict[str, dict[str, Any]]:
    body = expand(load(PIPELINES_ROOT / "infra.yml"), superset=False).body
    return {stage["stage"]: stage for stage in body["stages"]}


def _jobs(stage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job.get("job") or job.get("deployment"): job for job in stage["jobs"]}


def _pulumi_env(job: dict[str, Any]) -> dict[str, str]:
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    (step,) = [s for s in steps if s.get("task") == "AzureCLI@2" and "PULUMI_COMMAND" in s.get("env", {})]
    return step["env"]


def test_infra_yml_names_each_private_stacks_pool_as_the_stack_derives_it() -> None:
    parameters = {p["name"]: p["default"] for p in load(PIPELINES_ROOT / "infra.yml").data["parameters"]}
    for stack in PRIVATE_STACKS:
        expected = _names(stack).agent_pool(str(config_of(stack).agent_pool_organization_url))
        assert parameters[f"pool{stack.title()}"] == {"name": expected}, stack
    assert parameters["poolDev"] == {"vmImage": "ubuntu-24.04"}


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stacks_update_their_pool_from_hosted_agents_then_deploy_and_publish_on_it(
    stack: str,
) -> None:
    stages = _expanded_stages()
    pool = {"name": _names(stack).agent_pool(str(config_of(stack).agent_pool_organization_url))}
    deploy = _jobs(stages[f"Deploy_{stack}"])
    bootstrap, up = deploy[f"agents_{stack}"], deploy[f"up_{stack}"]
    assert list(deploy) == [f"agents_{stack}", f"up_{stack}"]
    # ARM control-plane calls work from Microsoft-hosted agents: the pool exists before any job needs it.
    assert bootstrap["pool"] == {"vmImage": "ubuntu-24.04"} and bootstrap["environment"] == f"mlops-{stack}"
    assert _pulumi_env(bootstrap)["PULUMI_COMMAND"] == "up" and _pulumi_env(bootstrap)["TARGETS"]
    # The whole stack (Databricks provider calls included) from inside the VNet.
    assert up["pool"] == pool and up["dependsOn"] == f"agents_{stack}"
    assert _pulumi_env(up)["TARGETS"] == ""
    publish = _jobs(stages[f"Publish_{stack}"])
    assert publish[f"lifecycle_publish_{stack}"]["pool"] == pool
    # Reading a stack output needs ARM and the state backend only.
    assert publish[f"lifecycle_package_{stack}"]["pool"] == {"vmImage": "ubuntu-24.04"}


def test_dev_and_pull_request_previews_stay_on_hosted_agents() -> None:
    stages = _expanded_stages()
    assert [job["pool"] for job in stages["Preview"]["jobs"]] == [{"vmImage": "ubuntu-24.04"}] * 3
    assert list(_jobs(stages["Deploy_dev"])) == ["up_dev"]
    assert _jobs(stages["Deploy_dev"])["up_dev"]["pool"] == {"vmImage": "ubuntu-24.04"}


def _urn(plan: Plan, resource: PlannedResource) -> str:
    """The resource's URN as Pulumi forms it: its ancestors' types and its own, joined by '$'."""
    by_name = {r.name: r for r in plan.resources}
    types, parent = [resource.type], resource.parent
    while parent is not None:
        types.insert(0, by_name[parent].type)
        parent = by_name[parent].parent
    return f"urn:pulumi:{plan.stack}::{PROJECT}::{'$'.join(types)}::{resource.name}"


def _matches(pattern: str, urn: str) -> bool:
    assert "*" not in pattern.replace("**", ""), "only '**' globs are used"
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("**")), urn) is not None


def test_the_bootstrap_targets_hold_the_pool_and_all_it_depends_on_and_no_data_plane_call() -> None:
    """`pulumi up --target` fails on a targeted resource whose dependency is neither targeted nor already in the
    stack (the first deploy): the targets must be closed under dependencies."""
    (bootstrap,) = [
        job for name, job in _jobs(_expanded_stages()["Deploy_prod"]).items() if name == "agents_prod"
    ]
    patterns = _pulumi_env(bootstrap)["TARGETS"].split(";")
    # prod with Databricks on: its provider calls the workspace API, which answers only inside the VNet.
    scenario = SCENARIOS["prod-databricks"]
    plan = run_program("prod", scenario.config(REPO))
    targeted = {r.name for r in plan.resources if any(_matches(p, _urn(plan, r)) for p in patterns)}
    assert plan.one(POOL).name in targeted
    by_name = {r.name: r for r in plan.resources}
    for name in targeted:
        missing = set(by_name[name].dependencies) - targeted
        assert missing == set(), f"{name} depends on untargeted {missing}"
        # A child of an untargeted new component cannot be created either.
        assert by_name[name].parent in targeted | {None}, f"{name}'s parent is not targeted"
    assert not [n for n in targeted if not by_name[n].type.startswith(("azure-native:", "azure-mlops:"))]
    assert not {"workspace", "databricks", "lifecycle"} & {n.split("-")[0] for n in targeted}


def test_the_expander_evaluates_length_as_azure_pipelines_does() -> None:
    """pulumi-deploy.yml adds the bootstrap job only when `length(parameters.bootstrapTargets)` is not 0;
    length() counts a string's characters or an array's items
    (https://learn.microsoft.com/azure/devops/pipelines/process/expressions#length)."""
    assert evaluate("ne(length(parameters.t), 0)", {"parameters": {"t": []}}) is False
    assert evaluate("ne(length(parameters.t), 0)", {"parameters": {"t": ["urn:a", "urn:b"]}}) is True
    assert evaluate("length('abc')", {}) == 3


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


def _jobs_in(node: Any) -> list[dict[str, Any]]:
    """Every job or deployment job declared in a template's YAML, also inside `${{ if }}` blocks."""
    if isinstance(node, list):
        return [job for item in node for job in _jobs_in(item)]
    if isinstance(node, dict):
        own = [node] if "job" in node or "deployment" in node else []
        return own + [job for value in node.values() for job in _jobs_in(value)]
    return []


def test_every_job_template_takes_a_pool_and_runs_every_job_on_a_pool_parameter() -> None:
    """A private stack's jobs must be able to run on its pool: no job template may pin Microsoft-hosted agents."""
    templates = sorted((PIPELINES_ROOT / "templates" / "jobs").glob("*.yml"))
    assert len(templates) >= 8
    for path in templates:
        data = load(path).data
        parameters = {p["name"]: p for p in data["parameters"]}
        assert parameters["pool"]["type"] == "object", path.name
        jobs = _jobs_in(data["jobs"])
        assert jobs, path.name
        for job in jobs:
            assert job["pool"] in ("${{ parameters.pool }}", "${{ parameters.bootstrapPool }}"), path.name
