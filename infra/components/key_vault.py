"""Key Vault: the workspace's secret store, RBAC-authorised, with soft delete and purge protection."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault

from infra.policy_waivers import public_profile_reason, waive_check


@dataclass(frozen=True, kw_only=True)
class KeyVaultArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the vault."""
    location: str
    """Required. Azure region."""
    vault_name: str
    """Required. Globally unique vault name (3-24 characters)."""
    tenant_id: str
    """Required. Entra tenant that authenticates requests to the vault."""
    sku: str
    """Required. `standard` or `premium`."""
    tags: dict[str, str]
    """Required. Tags for the vault."""
    public_network_access: bool
    """Required. False disables the public endpoint (private profile)."""
    soft_delete_days: int
    """Required. Days deleted vault objects stay recoverable (7-90)."""
    protect: bool = False
    """Optional. Refuse deletion of the vault from `pulumi destroy`, and keep it in Azure if it leaves the
    stack (retain on delete)."""


class KeyVault(pulumi.ComponentResource):
    """A Key Vault that uses Azure RBAC (no access policies), soft delete and purge protection."""

    vault_id: pulumi.Output[str]
    """ARM ID of the vault: linked to the workspace, scope of role assignments."""
    vault_name: pulumi.Output[str]
    """Name of the vault."""

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("azure-mlops:security:KeyVault", name, None, opts)
        vault_name = f"{name}-vault"
        if args.public_network_access:
            reason = public_profile_reason(
                args.tags,
                "the workspace and laptops reach the vault without private endpoints, by design of the stack's "
                "networkProfile; access is Entra RBAC only",
            )
            waive_check(vault_name, "CKV_AZURE_109", reason)
            waive_check(vault_name, "CKV_AZURE_189", reason)
        vault = keyvault.Vault(
            vault_name,
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=args.sku),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.soft_delete_days,
                # Purge protection cannot be turned off again: deleted secrets survive their retention.
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Enabled" if args.public_network_access else "Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    bypass="AzureServices",
                    default_action="Allow" if args.public_network_access else "Deny",
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        self.vault_id = vault.id
        self.vault_name = vault.name
        self.register_outputs({"vault_id": vault.id, "vault_name": vault.name})
