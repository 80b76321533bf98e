"""Lifecycle events in the private profile, under the mock engine: the handler joins the VNet, its storage is
private, and its public endpoint answers Event Grid alone."""

from __future__ import annotations

import ipaddress

import pytest

from infra.components.lifecycle_events import DEAD_LETTER_CONTAINER
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
def test_the_public_endpoint_admits_only_event_grid(stack: str, plans: dict[str, Plan]) -> None:
    site = plans[stack].one(APP).inputs["siteConfig"]
    assert plans[stack].one(APP).inputs["publicNetworkAccess"] == "Enabled"  # push delivery needs it
    (rule,) = site["ipSecurityRestrictions"]
    assert (rule["action"], rule["tag"], rule["ipAddress"]) == ("Allow", "ServiceTag", "AzureEventGrid")
    assert site["ipSecurityRestrictionsDefaultAction"] == "Deny"
    # The SCM (deploy) site never inherits the Event Grid rule.
    assert site["scmIpSecurityRestrictionsUseMain"] is False
    assert "scmIpSecurityRestrictions" not in site


def test_the_scm_site_denies_every_public_caller_only_where_private(plans: dict[str, Plan]) -> None:
    for stack in PRIVATE:
        # No allow rule and default Deny: deploys come through the app's private endpoint, from the VNet.
        assert plans[stack].one(APP).inputs["siteConfig"]["scmIpSecurityRestrictionsDefaultAction"] == "Deny"
    # dev deploys from Microsoft-hosted agents: its SCM site stays public (Entra tokens only, basic auth off).
    assert "scmIpSecurityRestrictionsDefaultAction" not in plans["dev"].one(APP).inputs["siteConfig"]


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
    for endpoint in plan.of_type(ENDPOINT):
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        target = plan.by_id(connection["privateLinkServiceId"]).name
        if not target.startswith("lifecycle-"):
            continue
        assert endpoint.inputs["subnet"]["id"] == f"{vnet}/subnets/private-endpoints"
        (group,) = connection["groupIds"]
        (zone,) = groups[endpoint.inputs["privateEndpointName"]]
        found[(target, group)] = zones[zone["privateDnsZoneId"]]
    assert found == {
        ("lifecycle-storage-account", "blob"): PRIVATE_DNS_ZONES["blob"],
        ("lifecycle-dead-letters-account", "blob"): PRIVATE_DNS_ZONES["blob"],
        ("lifecycle-audit-account", "table"): "privatelink.table.core.windows.net",
        ("lifecycle-app", "sites"): "privatelink.azurewebsites.net",
    }
    assert {OPTIONAL_DNS_ZONES["table"], OPTIONAL_DNS_ZONES["sites"]} <= set(found.values())
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
def test_dead_letters_admit_only_trusted_azure_services_and_say_why(
    stack: str, plans: dict[str, Plan]
) -> None:
    plan = plans[stack]
    account = plan.named("lifecycle-dead-letters-account").inputs
    # Event Grid dead-letters from outside any VNet as a trusted service: the public endpoint is open to
    # trusted services only; no IP rule, no VNet rule, no key.
    assert account["publicNetworkAccess"] == "Enabled"
    assert account["networkRuleSet"] == {"bypass": "AzureServices", "defaultAction": "Deny"}
    assert account["allowSharedKeyAccess"] is False
    (waiver,) = [
        w
        for w in plan.waivers
        if w.resource == "lifecycle-dead-letters-account" and w.check_id == "CKV_AZURE_59"
    ]
    assert "trusted Azure service" in waiver.reason and "Event Grid" in waiver.reason
    containers = [
        c.inputs["containerName"]
        for c in plan.of_type("azure-native:storage:BlobContainer")
        if c.parent == "lifecycle-dead-letters"
    ]
    assert containers == [DEAD_LETTER_CONTAINER]


def test_dead_letters_are_plainly_public_in_the_public_profile(plans: dict[str, Plan]) -> None:
    account = plans["dev"].named("lifecycle-dead-letters-account").inputs
    assert (account["publicNetworkAccess"], account["networkRuleSet"]["defaultAction"]) == (
        "Enabled",
        "Allow",
    )
    assert not [
        w
        for w in plans["dev"].waivers
        if w.resource == "lifecycle-dead-letters-account"
        and w.check_id == "CKV_AZURE_59"
        and "trusted" in w.reason
    ]


def test_trusted_services_only_is_refused_on_an_account_that_is_already_public() -> None:
    args = {
        "resource_group_name": "rg",
        "location": "westeurope",
        "account_name": "stdlmlopsdev123456",
        "sku": "Standard_LRS",
        "tags": {},
        "soft_delete_days": 7,
        "trusted_services_only": True,
    }
    with pytest.raises(ValueError) as raised:
        SecureStorageAccountArgs(**args, public_network_access=True)
    assert "trusted_services_only = True: only with public_network_access False" in str(raised.value)
    assert SecureStorageAccountArgs(**args, public_network_access=False).trusted_services_only


def test_prod_locks_the_audit_trail_and_dead_letters_but_not_the_code_package(plans: dict[str, Plan]) -> None:
    plan = plans["prod"]
    scopes = {
        lock.inputs["scope"] for lock in plan.of_type("azure-native:authorization:ManagementLockByScope")
    }
    assert plan.named("lifecycle-audit-account").resource_id in scopes
    assert plan.named("lifecycle-dead-letters-account").resource_id in scopes
    assert plan.named("lifecycle-storage-account").resource_id not in scopes
    for name in (
        "lifecycle-audit-account",
        "lifecycle-dead-letters-account",
        "lifecycle-storage-account",
        "lifecycle-audit-table",
    ):
        assert plan.named(name).protect and plan.named(name).retain_on_delete, name


@pytest.fixture(scope="module")
def smallest_vnet() -> Plan:
    return run_program("staging", stack_config("staging", vnetAddressSpace="10.60.0.0/21"))


def test_a_21_vnet_fits_the_handler_and_a_22_is_refused_before_anything_is_declared(
    smallest_vnet: Plan,
) -> None:
    assert _subnets(smallest_vnet)[LIFECYCLE_SUBNET]["addressPrefix"] == "10.60.4.0/24"
    with pytest.raises(ValueError, match="no fifth /24") as raised:
        subnets("10.60.0.0/22", lifecycle=True)
    assert "use a /21 or larger" in str(raised.value)
    assert {s.name for s in subnets("10.60.0.0/22")} == {"private-endpoints", "compute"}
