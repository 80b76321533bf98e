"""Private endpoints: private IPs in the VNet for the workspace and its dependencies, registered in DNS."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network


@dataclass(frozen=True, kw_only=True)
class EndpointSpec:
    target_id: pulumi.Input[str]
    """Required. ARM ID of the resource the endpoint connects to."""
    group_id: str
    """Required. Private link sub-resource: amlworkspace, blob, file, dfs, vault or registry."""
    zone_keys: tuple[str, ...]
    """Required. Keys of the private DNS zones that must resolve the endpoint (see network.PRIVATE_DNS_ZONES)."""
    endpoint_name: str
    """Required. Name of the private endpoint resource."""


@dataclass(frozen=True, kw_only=True)
class PrivateEndpointsArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the endpoints."""
    location: str
    """Required. Azure region (the VNet's)."""
    subnet_id: pulumi.Input[str]
    """Required. Subnet that hosts the endpoints."""
    zone_ids: dict[str, pulumi.Output[str]]
    """Required. Zone key -> private DNS zone ID, from PrivateNetwork."""
    endpoints: dict[str, EndpointSpec]
    """Required. Stable key -> endpoint; keys name the child resources, so reordering changes nothing."""
    tags: dict[str, str]
    """Required. Tags for the endpoints."""

    def __post_init__(self) -> None:
        missing = sorted({k for spec in self.endpoints.values() for k in spec.zone_keys} - set(self.zone_ids))
        if missing:
            msg = f"PrivateEndpointsArgs.zone_ids: no private DNS zone for {missing}; create them in PrivateNetwork"
            raise ValueError(msg)


class PrivateEndpoints(pulumi.ComponentResource):
    """One private endpoint per (resource, sub-resource), each with a DNS zone group so names resolve privately."""

    endpoint_ids: dict[str, pulumi.Output[str]]
    """Endpoint key -> ARM ID of the private endpoint."""
    resolvable: dict[str, tuple[pulumi.Resource, pulumi.Resource]]
    """Endpoint key -> the endpoint and its DNS zone group: depend on both to call the target through it."""

    def __init__(
        self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:network:PrivateEndpoints", name, None, opts)
        self.endpoint_ids = {}
        self.resolvable = {}
        for key, spec in args.endpoints.items():
            endpoint = network.PrivateEndpoint(
                f"{name}-{key}",
                private_endpoint_name=spec.endpoint_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                subnet=network.SubnetArgs(id=args.subnet_id),
                private_link_service_connections=[
                    network.PrivateLinkServiceConnectionArgs(
                        name=spec.endpoint_name,
                        private_link_service_id=spec.target_id,
                        group_ids=[spec.group_id],
                    )
                ],
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            records = network.PrivateDnsZoneGroup(
                f"{name}-{key}-dns",
                private_dns_zone_group_name="default",
                private_endpoint_name=endpoint.name,
                resource_group_name=args.resource_group_name,
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(
                        name=zone_key, private_dns_zone_id=args.zone_ids[zone_key]
                    )
                    for zone_key in spec.zone_keys
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.endpoint_ids[key] = endpoint.id
            self.resolvable[key] = (endpoint, records)
        self.register_outputs({})
