"""The private network profile: endpoints, DNS, NSGs and managed-network egress, all present and wired."""

from __future__ import annotations

import pytest

from infra.components.container_registry import ContainerRegistryArgs, export_policy
from infra.components.egress_firewall import FIREWALL_MANAGEMENT_SUBNET, FIREWALL_SUBNET
from infra.components.network import OPTIONAL_DNS_ZONES, PRIVATE_DNS_ZONES, PrivateNetworkArgs
from infra.plan.engine import Plan
from infra.private_profile import (
    AZURE_DEVOPS_RANGES,
    CONTAINER_APPS_RUNNERS_SUBNET,
    LIFECYCLE_DNS_ZONES,
    LIFECYCLE_SUBNET,
    PACKAGE_HOSTS,
    subnets,
)
from tests.infra.conftest import config_of, registry_resources

PRIVATE_STACKS = ("staging", "prod")
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE = "azure-native:privatedns:PrivateZone"


def _endpoints(plan: Plan) -> dict[str, tuple[str, str]]:
    """Endpoint resource name -> (target ARM ID, sub-resource)."""
    found = {}
    for endpoint in plan.of_type(ENDPOINT):
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        (group,) = connection["groupIds"]
        found[endpoint.name] = (connection["privateLinkServiceId"], group)
    return found


def test_every_dependency_has_a_private_endpoint_in_the_endpoint_subnet(plans: dict[str, Plan]) -> None:
    for stack in PRIVATE_STACKS:
        plan = plans[stack]
        storage, lake = plan.named("workspace-storage-account"), plan.named("data-lake-account")
        expected = {
            (plan.one("azure-native:machinelearningservices:Workspace").resource_id, "amlworkspace"),
            (storage.resource_id, "blob"),
            (storage.resource_id, "file"),
            (lake.resource_id, "dfs"),
            (lake.resource_id, "blob"),
            (plan.one("azure-native:keyvault:Vault").resource_id, "vault"),
            (plan.one("azure-native:containerregistry:Registry").resource_id, "registry"),
        }
        if config_of(stack).create_aml_registry:
            registry = plan.one("azure-native:machinelearningservices:Registry")
            storage_id, acr_id = registry_resources(plan)
            expected |= {(registry.resource_id, "amlregistry"), (storage_id, "blob"), (acr_id, "registry")}
        if config_of(stack).lifecycle_events_enabled:  # tests/infra/test_lifecycle_private_profile.py
            expected |= {
                (plan.named("lifecycle-storage-account").resource_id, "blob"),
                (plan.named("lifecycle-inbox-account").resource_id, "queue"),
                (plan.named("lifecycle-inbox-account").resource_id, "blob"),
                (plan.named("lifecycle-audit-account").resource_id, "table"),
                (plan.one("azure-native:web:WebApp").resource_id, "sites"),
            }
        assert set(_endpoints(plan).values()) == expected, stack
        vnet = plan.one("azure-native:network:VirtualNetwork").resource_id
        subnets = {e.inputs["subnet"]["id"] for e in plan.of_type(ENDPOINT)}
        assert subnets == {f"{vnet}/subnets/private-endpoints"}


def test_each_endpoint_registers_in_the_zones_that_resolve_it(plans: dict[str, Plan]) -> None:
    plan = plans["prod"]
    zone_ids = {z.inputs["privateZoneName"]: z.resource_id for z in plan.of_type(ZONE)}
    expected_zones = {
        "amlworkspace": {PRIVATE_DNS_ZONES["aml-api"], PRIVATE_DNS_ZONES["aml-notebooks"]},
        "amlregistry": {PRIVATE_DNS_ZONES["aml-api"]},
        "blob": {PRIVATE_DNS_ZONES["blob"]},
        "file": {PRIVATE_DNS_ZONES["file"]},
        "dfs": {PRIVATE_DNS_ZONES["dfs"]},
        "vault": {PRIVATE_DNS_ZONES["vault"]},
        "registry": {PRIVATE_DNS_ZONES["registry"]},
        "queue": {OPTIONAL_DNS_ZONES["queue"]},
        "table": {OPTIONAL_DNS_ZONES["table"]},
        "sites": {OPTIONAL_DNS_ZONES["sites"]},
    }
    groups = {
        g.inputs["privateEndpointName"]: g for g in plan.of_type("azure-native:network:PrivateDnsZoneGroup")
    }
    assert len(groups) == len(plan.of_type(ENDPOINT))
    for endpoint in plan.of_type(ENDPOINT):
        (_, group_id) = _endpoints(plan)[endpoint.name]
        configs = groups[endpoint.inputs["privateEndpointName"]].inputs["privateDnsZoneConfigs"]
        used = {c["privateDnsZoneId"] for c in configs}
        assert used == {zone_ids[zone] for zone in expected_zones[group_id]}, endpoint.name


def test_every_zone_is_linked_to_the_vnet_without_auto_registration(plans: dict[str, Plan]) -> None:
    plan = plans["prod"]
    vnet = plan.one("azure-native:network:VirtualNetwork").resource_id
    zones = {z.inputs["privateZoneName"] for z in plan.of_type(ZONE)}
    lifecycle = {OPTIONAL_DNS_ZONES[key] for key in LIFECYCLE_DNS_ZONES}
    assert zones == set(PRIVATE_DNS_ZONES.values()) | (
        lifecycle if config_of("prod").lifecycle_events_enabled else set()
    )
    links = plan.of_type("azure-native:privatedns:VirtualNetworkLink")
    assert {link.inputs["privateZoneName"] for link in links} == zones
    assert {link.inputs["virtualNetwork"]["id"] for link in links} == {vnet}
    assert {link.inputs["registrationEnabled"] for link in links} == {False}


def test_every_subnet_has_its_own_nsg_and_compute_egress_ends_in_deny(plans: dict[str, Plan]) -> None:
    plan = plans["prod"]
    vnet = plan.one("azure-native:network:VirtualNetwork").inputs
    groups = {g.resource_id: g.inputs for g in plan.of_type("azure-native:network:NetworkSecurityGroup")}
    subnets = {s["name"]: s for s in vnet["subnets"]}
    lifecycle = {LIFECYCLE_SUBNET} if config_of("prod").lifecycle_events_enabled else set()
    # Azure takes no NSG on an Azure Firewall's subnets: tests/infra/test_agent_egress.py.
    firewall = (
        {FIREWALL_SUBNET, FIREWALL_MANAGEMENT_SUBNET}
        if config_of("prod").agent_egress == "firewall"
        else set()
    )
    # The build agents' subnet: tests/infra/test_agent_pool.py; the GitHub runner jobs': test_github_runner_jobs.py.
    runner_jobs = {CONTAINER_APPS_RUNNERS_SUBNET} if config_of("prod").github_container_apps else set()
    assert set(subnets) == {"private-endpoints", "compute", "agents"} | lifecycle | firewall | runner_jobs
    guarded = [s for name, s in subnets.items() if name not in firewall]
    assert len({s["networkSecurityGroup"]["id"] for s in guarded}) == 3 + len(lifecycle | runner_jobs)
    for subnet in guarded:
        assert subnet["networkSecurityGroup"]["id"] in groups
    for subnet in subnets.values():
        assert subnet["defaultOutboundAccess"] is False
    assert subnets["private-endpoints"]["privateEndpointNetworkPolicies"] == "Enabled"
    compute_rules = groups[subnets["compute"]["networkSecurityGroup"]["id"]]["securityRules"]
    last = max(compute_rules, key=lambda rule: rule["priority"])
    assert (last["direction"], last["access"], last["destinationAddressPrefix"]) == (
        "Outbound",
        "Deny",
        "Internet",
    )
    allowed = {r.get("destinationAddressPrefix") for r in compute_rules if r["access"] == "Allow"}
    assert "Internet" not in allowed
    assert "AzureMachineLearning" in allowed


def test_agent_subnet_egress_leaves_through_one_nat_gateway_and_one_static_address(
    plans: dict[str, Plan],
) -> None:
    for stack in PRIVATE_STACKS:
        plan = plans[stack]
        nat = plan.one("azure-native:network:NatGateway")
        (ip,) = nat.inputs["publicIpAddresses"]
        address = plan.by_id(ip["id"])
        assert nat.inputs["sku"] == {"name": "Standard"}
        assert address.name == "network-nat-ip"
        assert 4 <= nat.inputs["idleTimeoutInMinutes"] <= 120
        assert address.inputs["sku"] == {"name": "Standard", "tier": "Regional"}
        assert address.inputs["publicIPAllocationMethod"] == "Static"
        subnets = {s["name"]: s for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"]}
        assert subnets["compute"]["natGateway"] == {"id": nat.resource_id}, stack
        # Private endpoints only answer inside the VNet: they never get a way out.
        assert "natGateway" not in subnets["private-endpoints"], stack
        assert plan.outputs["natEgressIp"].startswith("203.0.113."), stack
    assert plans["dev"].outputs["natEgressIp"] == ""


def test_agents_reach_azure_devops_on_its_documented_ranges_and_nothing_else_on_the_internet(
    plans: dict[str, Plan],
) -> None:
    plan = plans["prod"]
    vnet = plan.one("azure-native:network:VirtualNetwork").inputs
    (compute,) = [s for s in vnet["subnets"] if s["name"] == "compute"]
    groups = {g.resource_id: g.inputs for g in plan.of_type("azure-native:network:NetworkSecurityGroup")}
    rules = {r["name"]: r for r in groups[compute["networkSecurityGroup"]["id"]]["securityRules"]}
    devops = rules["allow-azure-devops"]
    assert devops["destinationAddressPrefixes"] == list(AZURE_DEVOPS_RANGES)
    assert "destinationAddressPrefix" not in devops
    assert (devops["direction"], devops["access"], devops["destinationPortRange"]) == (
        "Outbound",
        "Allow",
        "443",
    )
    assert devops["priority"] < rules["deny-internet"]["priority"]


def test_nat_egress_without_a_gateway_name_is_refused_naming_the_fields() -> None:
    args = {
        "resource_group_name": "rg",
        "location": "westeurope",
        "vnet_name": "vnet",
        "address_space": "10.40.0.0/16",
        "subnets": subnets("10.40.0.0/16"),
        "nsg_name": "nsg",
        "tags": {},
    }
    with pytest.raises(ValueError) as missing:
        PrivateNetworkArgs(**args)
    assert "nat_gateway_name and nat_public_ip_name: required because subnets ['compute']" in str(
        missing.value
    )
    with pytest.raises(ValueError) as timeout:
        PrivateNetworkArgs(
            **args, nat_gateway_name="ng", nat_public_ip_name="pip", nat_idle_timeout_minutes=3
        )
    assert "nat_idle_timeout_minutes = 3: must be 4-120" in str(timeout.value)
    assert (
        PrivateNetworkArgs(**args, nat_gateway_name="ng", nat_public_ip_name="pip").nat_idle_timeout_minutes
        == 4
    )


def test_vnet_uses_the_configured_private_range(plans: dict[str, Plan]) -> None:
    for stack in PRIVATE_STACKS:
        vnet = plans[stack].one("azure-native:network:VirtualNetwork").inputs
        assert vnet["addressSpace"]["addressPrefixes"] == [config_of(stack).vnet_address_space]


def test_managed_network_allows_only_package_hosts_the_data_lake_batch_storage_and_the_registry(
    plans: dict[str, Plan],
) -> None:
    plan = plans["prod"]
    network = plan.one("azure-native:machinelearningservices:Workspace").inputs["managedNetwork"]
    assert network["isolationMode"] == "AllowOnlyApprovedOutbound"
    rules = network["outboundRules"]
    fqdns = {rule["destination"] for rule in rules.values() if rule["type"] == "FQDN"}
    assert fqdns == set(PACKAGE_HOSTS.values())
    lake = plan.named("data-lake-account").resource_id
    endpoints = {
        (r["destination"]["serviceResourceId"], r["destination"]["subresourceTarget"])
        for r in rules.values()
        if r["type"] == "PrivateEndpoint"
    }
    storage = plan.named("workspace-storage-account").resource_id
    registry = plan.one("azure-native:machinelearningservices:Registry").resource_id
    registry_storage, registry_acr = registry_resources(plan)
    assert endpoints == {
        (lake, "dfs"),
        (lake, "blob"),
        (storage, "queue"),
        (storage, "table"),
        (registry, "amlregistry"),
        (registry_storage, "blob"),
        (registry_acr, "registry"),
    }
    assert network["firewallSku"] == "Basic"


def test_the_public_dev_stack_stays_cheap(plans: dict[str, Plan]) -> None:
    dev = plans["dev"]
    network_types = {
        r.type
        for r in dev.resources
        if r.type.startswith(("azure-native:network:", "azure-native:privatedns:"))
    }
    assert network_types == set()
    managed = dev.one("azure-native:machinelearningservices:Workspace").inputs["managedNetwork"]
    assert "firewallSku" not in managed
    assert len(dev.resources) < len(plans["prod"].resources)


def test_a_private_registry_allows_no_exports_and_a_public_one_keeps_azures_default(plan: Plan) -> None:
    """Exports (`az acr import` into another registry, transfer pipelines) can be disabled only on a Premium
    registry whose public network access is disabled: private stacks disable them, dev (public, Basic) cannot.

    https://learn.microsoft.com/en-us/azure/container-registry/data-loss-prevention
    """
    registry = plan.one("azure-native:containerregistry:Registry").inputs
    if config_of(plan.stack).is_private:
        assert (registry["sku"]["name"], registry["publicNetworkAccess"]) == ("Premium", "Disabled")
        assert registry["policies"]["exportPolicy"] == {"status": "disabled"}
    else:
        assert registry["publicNetworkAccess"] == "Enabled"
        assert "exportPolicy" not in registry.get("policies", {})


def test_a_public_premium_registry_is_not_asked_to_disable_exports() -> None:
    """Azure refuses exportPolicy disabled while the public endpoint is on: a public Premium registry sends none.

    https://learn.microsoft.com/en-us/azure/container-registry/data-loss-prevention
    """
    common = {"resource_group_name": "rg", "location": "westeurope", "registry_name": "cr", "tags": {}}
    public = ContainerRegistryArgs(**common, sku="Premium", public_network_access=True)
    private = ContainerRegistryArgs(**common, sku="Premium", public_network_access=False)
    assert export_policy(public) is None
    policy = export_policy(private)
    assert policy is not None and policy.status == "disabled"
