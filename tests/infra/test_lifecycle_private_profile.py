"""Lifecycle events in the private profile, under the mock engine: the handler joins the VNet, has no public
endpoint, reaches its storage and queue privately, and only Event Grid writes into the inbox from outside."""

from __future__ import annotations

import ipaddress

import pytest

from infra.components.lifecycle_events import DEAD_LETTER_CONTAINER, EVENT_QUEUE, POISON_QUEUE
from infra.components.network import OPTIONAL_DNS_ZONES, PRIVATE_DNS_ZONES
from infra.components.storage import SecureStorageAccountArgs
from infra.plan.engine import Plan, run_program
from infra.private_profile import FLEX_CONSUMPTION_DELEGATION, LIFECYCLE_SUBNET, subnets
from tests.infra.conftest import config_of, stack_config

APP = "azure-native:web:WebApp"
ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE = ("staging", "prod")


def _subnets(plan: Plan) -> dict[str, dict]:
    return {s["name"]: s for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"]}


def _nsg_rules(plan: Plan, subnet: dict) -> list[dict]:
    (group,) = [
        g
        for g in plan.of_type("azure-native:network:NetworkSecurityGroup")
        if g.resource_id == subnet["networkSecurityGroup"]["id"]
    ]
    return sorted(group.inputs["securityRules"], key=lambda rule: rule["priority"])


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_handler_has_its_own_subnet_delegated_to_flex_consumption(
    stack: str, plans: dict[str, Plan]
) -> None:
    plan = plans[stack]
    subnet = _subnets(plan)[LIFECYCLE_SUBNET]
    vnet = ipaddress.ip_network(config_of(stack).vnet_address_space)
    # The fifth /24: after endpoints, compute and both Databricks subnets, so Databricks never moves it.
    assert subnet["addressPrefix"] == str(list(vnet.subnets(new_prefix=24))[4])
    assert subnet["delegations"] == [{"name": LIFECYCLE_SUBNET, "serviceName": "Microsoft.App/environments"}]
    assert FLEX_CONSUMPTION_DELEGATION == "Microsoft.App/environments"
    assert subnet["defaultOutboundAccess"] is False
    # Internet-bound traffic leaves through the stack's NAT gateway, like the agents'.
    assert subnet["natGateway"]["id"] == plan.one("azure-native:network:NatGateway").resource_id
    rules = _nsg_rules(plan, subnet)
    assert [
        (r["direction"], r["access"], r["destinationAddressPrefix"], r.get("destinationPortRange"))
        for r in rules
    ] == [
        ("Outbound", "Allow", "Internet", "443"),
        ("Outbound", "Deny", "Internet", "*"),
    ]


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_app_joins_the_subnet_and_routes_all_outbound_traffic_through_it(
    stack: str, plans: dict[str, Plan]
) -> None:
    plan = plans[stack]
    app = plan.one(APP).inputs
    vnet = plan.one("azure-native:network:VirtualNetwork").resource_id
    assert app["virtualNetworkSubnetId"] == f"{vnet}/subnets/{LIFECYCLE_SUBNET}"
    assert app["outboundVnetRouting"] == {"applicationTraffic": True}


def test_the_public_profile_has_no_vnet_integration(plans: dict[str, Plan]) -> None:
    app = plans["dev"].one(APP).inputs
    assert "virtualNetworkSubnetId" not in app
    assert "outboundVnetRouting" not in app


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_main_site_admits_no_caller(stack: str, plans: dict[str, Plan]) -> None:
    """The one function pulls from its queue: no Event Grid push, no HTTP route, so no allow rule at all."""
    site = plans[stack].one(APP).inputs["siteConfig"]
    assert "ipSecurityRestrictions" not in site
    assert site["ipSecurityRestrictionsDefaultAction"] == "Deny"
    # The SCM (deploy) site keeps its own, separate rules.
    assert site["scmIpSecurityRestrictionsUseMain"] is False
    assert "scmIpSecurityRestrictions" not in site


def test_the_app_has_no_public_endpoint_where_private(plans: dict[str, Plan]) -> None:
    for stack in PRIVATE:
        # Deploys come through the app's private endpoint, from the VNet; nothing else calls the app.
        assert plans[stack].one(APP).inputs["publicNetworkAccess"] == "Disabled", stack
        assert not [
            w for w in plans[stack].waivers if w.resource == "lifecycle-app" and w.check_id == "CKV_AZURE_222"
        ]
    # dev deploys from Microsoft-hosted agents: its SCM site stays public (Entra tokens only, basic auth off),
    # and the waiver says so.
    assert plans["dev"].one(APP).inputs["publicNetworkAccess"] == "Enabled"
    (waiver,) = [
        w for w in plans["dev"].waivers if w.resource == "lifecycle-app" and w.check_id == "CKV_AZURE_222"
    ]
    assert "SCM" in waiver.reason and "denies every caller" in waiver.reason


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_handlers_storage_the_audit_store_and_the_app_have_private_endpoints_and_dns(
    stack: str, plans: dict[str, Plan]
) -> None:
    plan = plans[stack]
    vnet = plan.one("azure-native:network:VirtualNetwork").resource_id
    zones = {
        z.resource_id: z.inputs["privateZoneName"]
        for z in plan.of_type("azure-native:privatedns:PrivateZone")
    }
    groups = {
        g.inputs["privateEndpointName"]: g.inputs["privateDnsZoneConfigs"]
        for g in plan.of_type("azure-native:network:PrivateDnsZoneGroup")
    }
    found = {}
    # Only the lifecycle endpoints: others reach resources outside the plan (the registry's, created by Azure).
    for endpoint in (e for e in plan.of_type(ENDPOINT) if e.name.startswith("private-endpoints-lifecycle-")):
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        target = plan.by_id(connection["privateLinkServiceId"]).name
        assert target.startswith("lifecycle-"), endpoint.name
        assert endpoint.inputs["subnet"]["id"] == f"{vnet}/subnets/private-endpoints"
        (group,) = connection["groupIds"]
        (zone,) = groups[endpoint.inputs["privateEndpointName"]]
        found[(target, group)] = zones[zone["privateDnsZoneId"]]
    assert found == {
        ("lifecycle-storage-account", "blob"): PRIVATE_DNS_ZONES["blob"],
        ("lifecycle-inbox-account", "queue"): "privatelink.queue.core.windows.net",
        ("lifecycle-inbox-account", "blob"): PRIVATE_DNS_ZONES["blob"],
        ("lifecycle-audit-account", "table"): "privatelink.table.core.windows.net",
        ("lifecycle-app", "sites"): "privatelink.azurewebsites.net",
    }
    assert {OPTIONAL_DNS_ZONES[z] for z in ("queue", "table", "sites")} <= set(found.values())
    linked = {
        link.inputs["privateZoneName"] for link in plan.of_type("azure-native:privatedns:VirtualNetworkLink")
    }
    assert set(found.values()) <= linked


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_handlers_storage_and_audit_store_refuse_public_network_access(
    stack: str, plans: dict[str, Plan]
) -> None:
    plan = plans[stack]
    for name in ("lifecycle-storage-account", "lifecycle-audit-account"):
        account = plan.named(name).inputs
        assert account["publicNetworkAccess"] == "Disabled", name
        assert account["networkRuleSet"]["defaultAction"] == "Deny", name
        assert account["allowSharedKeyAccess"] is False, name


@pytest.mark.parametrize("stack", PRIVATE)
def test_the_inbox_admits_only_trusted_azure_services_and_says_why(
    stack: str, plans: dict[str, Plan]
) -> None:
    plan = plans[stack]
    account = plan.named("lifecycle-inbox-account").inputs
    # Event Grid delivers and dead-letters from outside any VNet as a trusted service: the public endpoint is
    # open to trusted services only; no IP rule, no VNet rule, no key.
    assert account["publicNetworkAccess"] == "Enabled"
    assert account["networkRuleSet"] == {"bypass": "AzureServices", "defaultAction": "Deny"}
    assert account["allowSharedKeyAccess"] is False
    (waiver,) = [
        w for w in plan.waivers if w.resource == "lifecycle-inbox-account" and w.check_id == "CKV_AZURE_59"
    ]
    assert "trusted Azure service" in waiver.reason and "Event Grid" in waiver.reason
    containers = [
        c.inputs["containerName"]
        for c in plan.of_type("azure-native:storage:BlobContainer")
        if c.parent == "lifecycle-inbox"
    ]
    assert containers == [DEAD_LETTER_CONTAINER]
    queues = sorted(q.inputs["queueName"] for q in plan.of_type("azure-native:storage:Queue"))
    assert queues == sorted([EVENT_QUEUE, POISON_QUEUE])


def test_the_inbox_is_plainly_public_in_the_public_profile(plans: dict[str, Plan]) -> None:
    account = plans["dev"].named("lifecycle-inbox-account").inputs
    assert (account["publicNetworkAccess"], account["networkRuleSet"]["defaultAction"]) == (
        "Enabled",
        "Allow",
    )
    assert not [
        w
        for w in plans["dev"].waivers
        if w.resource == "lifecycle-inbox-account" and w.check_id == "CKV_AZURE_59" and "trusted" in w.reason
    ]


def test_trusted_services_only_is_refused_on_an_account_that_is_already_public() -> None:
    args = {
        "resource_group_name": "rg",
        "location": "westeurope",
        "account_name": "stinbmlopsdev123456",
        "sku": "Standard_LRS",
        "tags": {},
        "soft_delete_days": 7,
        "trusted_services_only": True,
    }
    with pytest.raises(ValueError) as raised:
        SecureStorageAccountArgs(**args, public_network_access=True)
    assert "trusted_services_only = True: only with public_network_access False" in str(raised.value)
    assert SecureStorageAccountArgs(**args, public_network_access=False).trusted_services_only


def test_prod_locks_the_audit_trail_and_the_inbox_but_not_the_code_package(plans: dict[str, Plan]) -> None:
    plan = plans["prod"]
    scopes = {
        lock.inputs["scope"] for lock in plan.of_type("azure-native:authorization:ManagementLockByScope")
    }
    assert plan.named("lifecycle-audit-account").resource_id in scopes
    assert plan.named("lifecycle-inbox-account").resource_id in scopes
    assert plan.named("lifecycle-storage-account").resource_id not in scopes
    for name in (
        "lifecycle-audit-account",
        "lifecycle-inbox-account",
        "lifecycle-storage-account",
        "lifecycle-audit-table",
        "lifecycle-queue",
        "lifecycle-poison-queue",
    ):
        assert plan.named(name).protect and plan.named(name).retain_on_delete, name


@pytest.fixture(scope="module")
def smallest_vnet() -> Plan:
    # agentEgress: nat, since the agents' egress firewall takes the ninth /24 (tests/infra/test_agent_egress.py).
    return run_program("staging", stack_config("staging", vnetAddressSpace="10.60.0.0/21", agentEgress="nat"))


def test_a_21_vnet_fits_the_handler_and_a_22_is_refused_before_anything_is_declared(
    smallest_vnet: Plan,
) -> None:
    assert _subnets(smallest_vnet)[LIFECYCLE_SUBNET]["addressPrefix"] == "10.60.4.0/24"
    with pytest.raises(ValueError, match="no fifth /24") as raised:
        subnets("10.60.0.0/22", lifecycle=True)
    assert "use a /21 or larger" in str(raised.value)
    assert {s.name for s in subnets("10.60.0.0/22")} == {"private-endpoints", "compute"}
