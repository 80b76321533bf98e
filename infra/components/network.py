"""Network: the virtual network of the private profile, its subnets, NSGs and private DNS zones."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns

PRIVATE_DNS_ZONES: dict[str, str] = {
    "aml-api": "privatelink.api.azureml.ms",
    "aml-notebooks": "privatelink.notebooks.azure.net",
    "blob": "privatelink.blob.core.windows.net",
    "file": "privatelink.file.core.windows.net",
    "dfs": "privatelink.dfs.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
    "registry": "privatelink.azurecr.io",
}
"""Zone key -> private DNS zone of the Azure public cloud for each private link sub-resource we use."""

OPTIONAL_DNS_ZONES: dict[str, str] = {
    "databricks": "privatelink.azuredatabricks.net",
    # Lifecycle events: the handler's event queue, the audit store's table endpoint, and the handler app (its
    # SCM/deploy endpoint).
    "queue": "privatelink.queue.core.windows.net",
    "table": "privatelink.table.core.windows.net",
    "sites": "privatelink.azurewebsites.net",
}
"""Zones that exist only with an optional feature (Databricks); request them through `dns_zones`."""


@dataclass(frozen=True, kw_only=True)
class SecurityRule:
    """One NSG rule; Azure's defaults (allow VNet, allow load balancer, deny the rest inbound) stay below."""

    name: str
    """Required. Rule name, unique within its NSG."""
    priority: int
    """Required. 100-4096; lower wins."""
    direction: str
    """Required. Inbound or Outbound."""
    access: str
    """Required. Allow or Deny."""
    destination: str | tuple[str, ...]
    """Required. Address prefix or service tag, e.g. AzureMachineLearning; or several address prefixes."""
    ports: tuple[str, ...]
    """Required. Destination ports or ranges, e.g. ("443",)."""
    source: str = "VirtualNetwork"
    """Optional. Address prefix or service tag of the source."""
    protocol: str = "Tcp"
    """Optional. Tcp, Udp or * (any)."""
    why: str = ""
    """Optional. The reason for the rule, shown in Azure as its description."""


@dataclass(frozen=True, kw_only=True)
class SubnetSpec:
    name: str
    """Required. Subnet name, unique within the VNet."""
    address_prefix: str
    """Required. CIDR inside the VNet's address space."""
    rules: tuple[SecurityRule, ...] | None
    """Required. Rules of the subnet's own NSG; None only for the subnets Azure allows no NSG on (an Azure
    Firewall's AzureFirewallSubnet and AzureFirewallManagementSubnet)."""
    private_endpoints: bool = False
    """Optional. True lets NSG rules apply to the private endpoints placed in this subnet."""
    delegation: str | None = None
    """Optional. Service the subnet is delegated to, e.g. Microsoft.Databricks/workspaces (VNet injection)."""
    nat_egress: bool = False
    """Optional. Route the subnet's internet-bound traffic through the VNet's NAT gateway. Subnets have no
    default outbound access, so a subnet whose clients must reach public endpoints (service tags, PyPI,
    Azure DevOps) needs this; its NSG still decides which destinations are allowed."""
    firewall_route: bool = False
    """Optional. Associate the VNet's route table (`route_table_name`), whose default route the egress firewall
    adds: the subnet's internet-bound traffic then leaves only through the firewall's allow-list."""


@dataclass(frozen=True, kw_only=True)
class PrivateNetworkArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the network resources."""
    location: str
    """Required. Azure region."""
    vnet_name: str
    """Required. Name of the virtual network."""
    address_space: str
    """Required. CIDR of the VNet, a private range."""
    subnets: tuple[SubnetSpec, ...]
    """Required. Subnets, each with its own NSG."""
    nsg_name: str
    """Required. Name prefix of the NSGs; each gets `-<subnet>` appended."""
    tags: dict[str, str]
    """Required. Tags for every network resource."""
    dns_zones: tuple[str, ...] = tuple(PRIVATE_DNS_ZONES)
    """Optional. Keys of PRIVATE_DNS_ZONES or OPTIONAL_DNS_ZONES to create and link to the VNet."""
    nat_gateway_name: str | None = None
    """Optional. Name of the NAT gateway that subnets with `nat_egress` send internet-bound traffic through;
    required when any subnet sets `nat_egress`."""
    nat_public_ip_name: str | None = None
    """Optional. Name of the NAT gateway's static public IP address; required with `nat_gateway_name`."""
    nat_idle_timeout_minutes: int = 4
    """Optional. 4-120: minutes an idle outbound TCP flow keeps its SNAT port (Azure's default is 4)."""
    route_table_name: str | None = None
    """Conditional. Name of the route table of the subnets with `firewall_route`; required when any sets it."""

    def __post_init__(self) -> None:
        routed = [spec.name for spec in self.subnets if spec.firewall_route]
        if routed and not self.route_table_name:
            msg = f"PrivateNetworkArgs.route_table_name: required because subnets {routed} set firewall_route"
            raise ValueError(msg)
        both = [spec.name for spec in self.subnets if spec.firewall_route and spec.nat_egress]
        if both:
            msg = f"SubnetSpec.nat_egress and firewall_route of {both}: choose one way out to the internet"
            raise ValueError(msg)
        nat_subnets = [spec.name for spec in self.subnets if spec.nat_egress]
        if nat_subnets and not (self.nat_gateway_name and self.nat_public_ip_name):
            msg = (
                f"PrivateNetworkArgs.nat_gateway_name and nat_public_ip_name: required because subnets "
                f"{nat_subnets} set nat_egress"
            )
            raise ValueError(msg)
        if not 4 <= self.nat_idle_timeout_minutes <= 120:
            msg = f"PrivateNetworkArgs.nat_idle_timeout_minutes = {self.nat_idle_timeout_minutes}: must be 4-120"
            raise ValueError(msg)


class PrivateNetwork(pulumi.ComponentResource):
    """A VNet whose subnets each have an NSG, plus the private DNS zones that resolve private endpoints."""

    vnet_id: pulumi.Output[str]
    """ARM ID of the virtual network."""
    subnet_ids: dict[str, pulumi.Output[str]]
    """Subnet name -> ARM ID."""
    zone_ids: dict[str, pulumi.Output[str]]
    """Zone key (see PRIVATE_DNS_ZONES) -> ARM ID of the private DNS zone."""
    zone_links: dict[str, pulumi.Resource]
    """Zone key -> the zone's link to the VNet: only once it exists do clients in the VNet resolve the zone."""
    nat_gateway_id: pulumi.Output[str] | None
    """ARM ID of the NAT gateway; None when no subnet sets `nat_egress`."""
    nat_public_ip: pulumi.Output[str] | None
    """The one public address that all NAT egress leaves from (allow-list it at PyPI mirrors, firewalls)."""
    route_table_name: pulumi.Output[str] | None
    """Name of the route table of the subnets with `firewall_route`; None when no subnet sets it."""

    def __init__(
        self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:network:PrivateNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        groups = {
            spec.name: network.NetworkSecurityGroup(
                f"{name}-nsg-{spec.name}",
                network_security_group_name=f"{args.nsg_name}-{spec.name}",
                resource_group_name=args.resource_group_name,
                location=args.location,
                security_rules=[_security_rule(rule) for rule in spec.rules],
                tags=args.tags,
                opts=child,
            )
            for spec in args.subnets
            if spec.rules is not None
        }
        self.nat_public_ip = None
        nat = self._nat_gateway(name, args, child) if any(s.nat_egress for s in args.subnets) else None
        self.nat_gateway_id = nat.id if nat else None
        # Routes are separate resources (EgressFirewall adds the default route once the firewall has its address):
        # the table must exist before the VNet that associates it, the firewall only after the VNet.
        routes = (
            network.RouteTable(
                f"{name}-routes",
                route_table_name=args.route_table_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                disable_bgp_route_propagation=True,
                tags=args.tags,
                opts=child,
            )
            if any(spec.firewall_route for spec in args.subnets)
            else None
        )
        self.route_table_name = routes.name if routes else None
        # Subnets are declared inline: separate Subnet resources fight the VNet over its subnet list.
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.vnet_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            subnets=[
                network.SubnetArgs(
                    name=spec.name,
                    address_prefix=spec.address_prefix,
                    network_security_group=network.NetworkSecurityGroupArgs(id=groups[spec.name].id)
                    if spec.name in groups
                    else None,
                    # Azure retires implicit outbound internet access; egress must be explicit.
                    default_outbound_access=False,
                    nat_gateway=network.SubResourceArgs(id=nat.id) if nat and spec.nat_egress else None,
                    route_table=network.RouteTableArgs(id=routes.id)
                    if routes and spec.firewall_route
                    else None,
                    private_endpoint_network_policies="Enabled" if spec.private_endpoints else "Disabled",
                    delegations=[network.DelegationArgs(name=spec.name, service_name=spec.delegation)]
                    if spec.delegation
                    else None,
                )
                for spec in args.subnets
            ],
            tags=args.tags,
            opts=child,
        )
        self.vnet_id = vnet.id
        self.subnet_ids = {
            spec.name: vnet.id.apply(lambda vnet_id, subnet=spec.name: f"{vnet_id}/subnets/{subnet}")
            for spec in args.subnets
        }

        self.zone_ids = {}
        self.zone_links = {}
        for key in args.dns_zones:
            zone = privatedns.PrivateZone(
                f"{name}-zone-{key}",
                private_zone_name={**PRIVATE_DNS_ZONES, **OPTIONAL_DNS_ZONES}[key],
                resource_group_name=args.resource_group_name,
                location="global",
                tags=args.tags,
                opts=child,
            )
            self.zone_links[key] = privatedns.VirtualNetworkLink(
                f"{name}-link-{key}",
                virtual_network_link_name=f"{args.vnet_name}-link",
                private_zone_name=zone.name,
                resource_group_name=args.resource_group_name,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=vnet.id),
                registration_enabled=False,
                tags=args.tags,
                opts=child,
            )
            self.zone_ids[key] = zone.id

        self.register_outputs({"vnet_id": vnet.id})

    def _nat_gateway(
        self, name: str, args: PrivateNetworkArgs, child: pulumi.ResourceOptions
    ) -> network.NatGateway:
        """A Standard NAT gateway with one static Standard public IP: explicit, auditable egress.

        Subnets have no default outbound access, and no-public-IP compute (Databricks nodes, agents) has no
        other way out; a NAT gateway gives them outbound-only connectivity (nothing can connect in through it)
        from one known address, while each subnet's NSG keeps deciding which destinations are allowed.
        """
        # NAT gateways take Standard static addresses only.
        address = static_public_ip(
            f"{name}-nat-ip",
            str(args.nat_public_ip_name),
            args.resource_group_name,
            args.location,
            args.tags,
            child,
        )
        self.nat_public_ip = address.ip_address.apply(lambda ip: ip or "")
        return network.NatGateway(
            f"{name}-nat",
            nat_gateway_name=args.nat_gateway_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.NatGatewaySkuArgs(name="Standard"),
            idle_timeout_in_minutes=args.nat_idle_timeout_minutes,
            public_ip_addresses=[network.SubResourceArgs(id=address.id)],
            tags=args.tags,
            opts=child,
        )


def static_public_ip(
    resource_name: str,
    ip_name: str,
    resource_group_name: pulumi.Input[str],
    location: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> network.PublicIPAddress:
    """A Standard, static, regional IPv4 address: what NAT gateways and Azure Firewall accept."""
    return network.PublicIPAddress(
        resource_name,
        public_ip_address_name=ip_name,
        resource_group_name=resource_group_name,
        location=location,
        sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
        public_ip_allocation_method="Static",
        public_ip_address_version="IPv4",
        tags=tags,
        opts=opts,
    )


def _security_rule(rule: SecurityRule) -> network.SecurityRuleArgs:
    ports = (
        {"destination_port_range": rule.ports[0]}
        if len(rule.ports) == 1
        else {"destination_port_ranges": list(rule.ports)}
    )
    destination = (
        {"destination_address_prefixes": list(rule.destination)}
        if isinstance(rule.destination, tuple)
        else {"destination_address_prefix": rule.destination}
    )
    return network.SecurityRuleArgs(
        name=rule.name,
        priority=rule.priority,
        direction=rule.direction,
        access=rule.access,
        protocol=rule.protocol,
        source_address_prefix=rule.source,
        source_port_range="*",
        description=rule.why,
        **destination,
        **ports,
    )
