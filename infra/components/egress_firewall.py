"""Egress allow-lists by host name: an Azure Firewall whose application rules name every host a subnet may reach.

An NSG filters addresses and service tags only, while Managed DevOps Pools, Azure DevOps, Container Apps, GitHub
and PyPI document their endpoints by host name. The firewall matches the host of each HTTP request or TLS
handshake (SNI) against the policy's application rules and drops everything else; a route table sends the filtered
subnets' internet-bound traffic (0.0.0.0/0) to it, while traffic to the VNet, the stack's private endpoints
included, never leaves the VNet. Each filtered subnet has its own allow-list (a rule collection whose rules name
only that subnet as their source), so one subnet's needs never widen another's.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from infra.components.network import static_public_ip
from infra.policy_waivers import waive_check

FIREWALL_SUBNET = "AzureFirewallSubnet"
"""The name Azure requires for the subnet of a firewall's data path (a /26 at least)."""
FIREWALL_MANAGEMENT_SUBNET = "AzureFirewallManagementSubnet"
"""The name Azure requires for the subnet of a Basic firewall's management traffic (a /26 at least)."""
PROTOCOL_PORTS: dict[str, int] = {"Https": 443, "Http": 80}
"""Application-rule protocols the allow-list uses, on their standard ports."""


@dataclass(frozen=True, kw_only=True)
class HostRule:
    """One application rule: the hosts one need of the clients reaches, and why."""

    name: str
    """Required. Rule name, unique within the policy."""
    hosts: tuple[str, ...]
    """Required. Host names (FQDNs); a leading `*.` matches any subdomain."""
    why: str
    """Required. Who needs these hosts, shown in Azure as the rule's description."""
    protocols: tuple[str, ...] = ("Https",)
    """Optional. Https and/or Http (PROTOCOL_PORTS)."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.protocols) - set(PROTOCOL_PORTS))
        if unknown or not self.protocols:
            msg = f"HostRule {self.name!r}: protocols {list(self.protocols)}: must be some of {list(PROTOCOL_PORTS)}"
            raise ValueError(msg)
        bad = [h for h in self.hosts if not h or "/" in h or ":" in h or "*" in h.removeprefix("*.")]
        if bad or not self.hosts:
            msg = f"HostRule {self.name!r}: hosts {bad or '[]'}: must be host names, a wildcard only as '*.' prefix"
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class AllowList:
    """The hosts one filtered subnet may reach: one rule collection of the firewall's policy."""

    name: str
    """Required. Rule collection name, unique within the policy (e.g. the subnet's)."""
    source_prefixes: tuple[str, ...]
    """Required. Address prefixes of the subnet(s) the rules apply to: their only sources."""
    rules: tuple[HostRule, ...]
    """Required. The hosts, per need; anything not matched is denied (Azure Firewall's default)."""

    def __post_init__(self) -> None:
        if not self.source_prefixes or not self.rules:
            msg = (
                f"AllowList {self.name!r}: source_prefixes and rules: an allow-list needs sources and a rule"
            )
            raise ValueError(msg)
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            msg = f"AllowList {self.name!r}: rule names repeat in {names}"
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class EgressFirewallArgs:
    """Where the firewall lives, whose traffic it filters, and the hosts it lets through."""

    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the firewall, its policy and addresses."""
    location: str
    """Required. Azure region of the VNet."""
    firewall_name: str
    """Required. Name of the firewall."""
    policy_name: str
    """Required. Name of its firewall policy (Basic firewalls take rules only from a policy)."""
    public_ip_name: str
    """Required. Name of the static public address the filtered traffic leaves from."""
    management_public_ip_name: str
    """Required. Name of the address of the management IP configuration Basic requires."""
    subnet_id: pulumi.Input[str]
    """Required. ARM ID of the VNet's AzureFirewallSubnet."""
    management_subnet_id: pulumi.Input[str]
    """Required. ARM ID of the VNet's AzureFirewallManagementSubnet."""
    route_table_name: pulumi.Input[str]
    """Required. Route table of the filtered subnets: it gets the default route to the firewall."""
    allow_lists: tuple[AllowList, ...]
    """Required. One allow-list per filtered subnet, in priority order; what none allows is denied."""
    tags: dict[str, str]
    """Required. Tags for every resource."""
    tier: str = "Basic"
    """Optional. Basic or Standard: the firewall's and its policy's SKU tier (docs/private-profile.md)."""

    def __post_init__(self) -> None:
        if self.tier not in ("Basic", "Standard"):
            msg = f"EgressFirewallArgs.tier = {self.tier!r}: must be Basic or Standard"
            raise ValueError(msg)
        if not self.allow_lists:
            msg = "EgressFirewallArgs.allow_lists: a firewall needs at least one allow-list"
            raise ValueError(msg)
        names = [allow.name for allow in self.allow_lists]
        if len(set(names)) != len(names):
            msg = f"EgressFirewallArgs.allow_lists: names repeat in {names}"
            raise ValueError(msg)


class EgressFirewall(pulumi.ComponentResource):
    """An Azure Firewall in the VNet, its policy of application rules, and the default route that sends to it."""

    firewall_id: pulumi.Output[str]
    """ARM ID of the firewall (its logs go to the stack's Log Analytics workspace)."""
    private_ip: pulumi.Output[str]
    """The firewall's address in AzureFirewallSubnet: the next hop of the filtered subnets' default route."""
    public_ip: pulumi.Output[str]
    """The one public address the filtered traffic leaves from."""
    default_route: network.Route
    """The filtered subnets' default route to the firewall (after the firewall and its rules): a resource whose first
    outbound connection must already pass (a Container Apps environment pulling its platform images) waits for it."""

    def __init__(
        self, name: str, args: EgressFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:network:EgressFirewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        policy = network.FirewallPolicy(
            f"{name}-policy",
            firewall_policy_name=args.policy_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.FirewallPolicySkuArgs(tier=args.tier),
            # Basic can only alert on threat intelligence hits; the allow-list already drops unknown hosts.
            threat_intel_mode="Alert" if args.tier == "Basic" else "Deny",
            tags=args.tags,
            opts=child,
        )
        rules = network.FirewallPolicyRuleCollectionGroup(
            f"{name}-rules",
            rule_collection_group_name="allow-list",
            firewall_policy_name=policy.name,
            resource_group_name=args.resource_group_name,
            priority=100,
            rule_collections=[
                network.FirewallPolicyFilterRuleCollectionArgs(
                    rule_collection_type="FirewallPolicyFilterRuleCollection",
                    name=allow.name,
                    priority=100 + 10 * index,
                    action=network.FirewallPolicyFilterRuleCollectionActionArgs(type="Allow"),
                    rules=[_application_rule(rule, allow.source_prefixes) for rule in allow.rules],
                )
                for index, allow in enumerate(args.allow_lists)
            ],
            opts=child,
        )
        addresses = {
            key: static_public_ip(
                f"{name}-{key}-ip", ip_name, args.resource_group_name, args.location, args.tags, child
            )
            for key, ip_name in (
                ("egress", args.public_ip_name),
                ("management", args.management_public_ip_name),
            )
        }
        firewall = network.AzureFirewall(
            f"{name}-firewall",
            azure_firewall_name=args.firewall_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.AzureFirewallSkuArgs(name="AZFW_VNet", tier=args.tier),
            firewall_policy=network.SubResourceArgs(id=policy.id),
            ip_configurations=[
                network.AzureFirewallIPConfigurationArgs(
                    name="egress",
                    subnet=network.SubResourceArgs(id=args.subnet_id),
                    public_ip_address=network.SubResourceArgs(id=addresses["egress"].id),
                )
            ],
            # Basic always has a management IP configuration, in its own subnet with its own address.
            management_ip_configuration=network.AzureFirewallIPConfigurationArgs(
                name="management",
                subnet=network.SubResourceArgs(id=args.management_subnet_id),
                public_ip_address=network.SubResourceArgs(id=addresses["management"].id),
            ),
            tags=args.tags,
            # A firewall created before its rules would start with an empty policy and drop the subnets' traffic.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[rules]),
        )
        if args.tier == "Basic":
            waive_check(
                f"{name}-firewall",
                "CKV_AZURE_216",
                "Azure Firewall Basic offers threat intelligence in alert mode only; the policy's application rules "
                "already deny every host not on the allow-list, and Standard (Deny) costs three times as much",
            )
        self.firewall_id = firewall.id
        self.private_ip = firewall.ip_configurations.apply(_private_ip)
        self.public_ip = addresses["egress"].ip_address.apply(lambda ip: ip or "")
        self.default_route = network.Route(
            f"{name}-default-route",
            route_name="internet-via-firewall",
            route_table_name=args.route_table_name,
            resource_group_name=args.resource_group_name,
            address_prefix="0.0.0.0/0",
            next_hop_type="VirtualAppliance",
            next_hop_ip_address=self.private_ip,
            opts=child,
        )
        self.register_outputs(
            {"firewall_id": firewall.id, "private_ip": self.private_ip, "public_ip": self.public_ip}
        )


def _private_ip(configurations: list[network.outputs.AzureFirewallIPConfigurationResponse] | None) -> str:
    """The private address Azure gives the firewall's (only) IP configuration; "" until it is known."""
    return next((c.private_ip_address for c in configurations or [] if c.private_ip_address), "")


def _application_rule(rule: HostRule, sources: tuple[str, ...]) -> network.ApplicationRuleArgs:
    return network.ApplicationRuleArgs(
        rule_type="ApplicationRule",
        name=rule.name,
        description=rule.why,
        source_addresses=list(sources),
        protocols=[
            network.FirewallPolicyRuleApplicationProtocolArgs(
                protocol_type=protocol, port=PROTOCOL_PORTS[protocol]
            )
            for protocol in rule.protocols
        ],
        target_fqdns=list(rule.hosts),
    )
