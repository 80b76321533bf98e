"""Container registry: where the workspace builds and keeps its environment images."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import containerregistry

from infra.errors import InvalidStackConfig
from infra.policy_waivers import public_profile_reason, waive_check


@dataclass(frozen=True, kw_only=True)
class ContainerRegistryArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the registry."""
    location: str
    """Required. Azure region."""
    registry_name: str
    """Required. Globally unique registry name (5-50 letters and digits)."""
    sku: str
    """Required. Basic, Standard or Premium."""
    tags: dict[str, str]
    """Required. Tags for the registry."""
    public_network_access: bool
    """Required. False disables the public endpoint; Azure allows that only on Premium."""
    protect: bool = False
    """Optional. Refuse deletion of the registry from `pulumi destroy`, and keep it in Azure if it leaves the
    stack (retain on delete)."""

    def __post_init__(self) -> None:
        if not self.public_network_access and self.sku != "Premium":
            msg = (
                f"ContainerRegistryArgs.sku = {self.sku!r}: must be 'Premium' when "
                "public_network_access is False (Azure disables public access only on Premium)"
            )
            raise InvalidStackConfig(msg)


class ContainerRegistry(pulumi.ComponentResource):
    """A registry with the admin user and anonymous pull off; Premium adds retention and zone redundancy, and,
    with public network access off, exports off."""

    registry_id: pulumi.Output[str]
    """ARM ID of the registry: linked to the workspace, scope of role assignments."""
    registry_name: pulumi.Output[str]
    """Name of the registry."""
    login_server: pulumi.Output[str]
    """Login server, e.g. crmlopsdevabc123.azurecr.io."""

    def __init__(
        self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:containers:ContainerRegistry", name, None, opts)
        premium = args.sku == "Premium"
        registry_name = f"{name}-registry"
        _waive_registry_checks(registry_name, args)
        registry = containerregistry.Registry(
            registry_name,
            registry_name=args.registry_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=containerregistry.SkuArgs(name=args.sku),
            # Identities pull and push (AcrPull/AcrPush); a shared admin password is never issued.
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access="Enabled" if args.public_network_access else "Disabled",
            network_rule_bypass_options="AzureServices",
            # Retention of untagged manifests, the export policy and zone redundancy exist only on Premium.
            policies=containerregistry.PoliciesArgs(
                retention_policy=containerregistry.RetentionPolicyArgs(days=30, status="enabled"),
                export_policy=export_policy(args),
            )
            if premium
            else None,
            zone_redundancy="Enabled" if premium else "Disabled",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        self.registry_id = registry.id
        self.registry_name = registry.name
        self.login_server = registry.login_server
        self.register_outputs(
            {
                "registry_id": registry.id,
                "registry_name": registry.name,
                "login_server": registry.login_server,
            }
        )


def export_policy(args: ContainerRegistryArgs) -> containerregistry.ExportPolicyArgs | None:
    """Exports (`az acr import` from it into another registry, export pipelines) off where Azure allows it:
    only with public network access disabled. Images then leave the registry only by a pull inside the VNet.
    A public registry keeps Azure's default (enabled): Azure refuses to disable exports there."""
    if args.public_network_access:
        return None
    return containerregistry.ExportPolicyArgs(status=containerregistry.ExportPolicyStatus.DISABLED)


def _waive_registry_checks(resource: str, args: ContainerRegistryArgs) -> None:
    waive_check(
        resource,
        "CKV_AZURE_166",
        "quarantine holds each pushed image until a scanner marks it verified; no scanner is wired to the "
        "registry's quarantine, and Azure ML pulls the environment images it builds at once, so every job "
        "would fail",
    )
    if args.public_network_access:
        waive_check(
            resource,
            "CKV_AZURE_139",
            public_profile_reason(
                args.tags,
                "laptops push and pull images directly, by design of the stack's networkProfile; the admin user "
                "and anonymous pull stay off, so every pull needs an Entra identity",
            ),
        )
    if args.sku != "Premium":
        reason = (
            f"{args.sku} SKU chosen by the stack file for cost; zone redundancy and Defender image scanning of "
            "the checked kind need Premium, which private stacks must use"
        )
        waive_check(resource, "CKV_AZURE_233", reason)
        waive_check(resource, "CKV_AZURE_163", reason)
