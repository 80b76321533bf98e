"""The Azure ML workspace's customer-managed key: an RSA key in the stack's vault and the identity that uses it.

Azure ML's requirements (https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys):
the vault has soft delete and purge protection (the stack's vault always has both), and the identity that
reads the key may get, wrap and unwrap with it: Key Vault Crypto Service Encryption User, granted on the key
alone, is exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity

from infra.components.access import assignment_name
from infra.policy_waivers import waive_check
from infra.roles import BuiltInRole, role_definition_id

KEY_SIZE = 3072
"""RSA key size; Azure ML accepts RSA 2048, 3072 and 4096."""
ROTATION_REASON = (
    "no expiry: Azure ML encrypts with the key version it was given and moves only when the workspace is "
    "updated to another key of the same vault, so an expired key would lock the workspace out of its own data"
)


@dataclass(frozen=True, kw_only=True)
class WorkspaceKeyArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the identity."""
    location: str
    """Required. Azure region of the identity."""
    vault_id: pulumi.Input[str]
    """Required. ARM ID of the stack's key vault, where the key lives (purge protection on)."""
    vault_name: pulumi.Input[str]
    """Required. Name of that vault."""
    key_name: str
    """Required. Name of the key in the vault."""
    identity_name: str
    """Required. Name of the user-assigned identity that wraps and unwraps with the key."""
    subscription_id: str
    """Required. Subscription holding the role definition."""
    stack_suffix: str
    """Required. The stack's naming suffix: keeps the role assignment's GUID unique per stack."""
    tags: dict[str, str]
    """Required. Tags for the identity."""
    hsm: bool = False
    """Optional. Create the key in a hardware security module (RSA-HSM); needs the vault's premium SKU."""
    protect: bool = False
    """Optional. Refuse deletion of the key, the identity and its grant from `pulumi destroy`, and keep them if
    they leave the stack: the workspace's data cannot be read without them."""


class WorkspaceKey(pulumi.ComponentResource):
    """An RSA key for the workspace's encryption and a user-assigned identity allowed to use it, nothing more."""

    key_vault_id: pulumi.Output[str]
    """ARM ID of the vault that holds the key."""
    key_uri: pulumi.Output[str]
    """The key's versioned URI, as the workspace's encryption settings take it."""
    identity_id: pulumi.Output[str]
    """ARM ID of the user-assigned identity, available once its role on the key is granted."""
    identity_client_id: pulumi.Output[str]
    """Client ID of the user-assigned identity."""

    def __init__(self, name: str, args: WorkspaceKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("azure-mlops:security:WorkspaceKey", name, None, opts)
        # Without the key, the identity or its grant the workspace cannot read its own data: all three are kept.
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=keep,
        )
        key_logical = f"{name}-key"
        waive_check(key_logical, "CKV_AZURE_40", ROTATION_REASON)
        if not args.hsm:
            waive_check(
                key_logical,
                "CKV_AZURE_112",
                "software-protected key: the stack's keyVaultSku is standard, and HSM-backed keys need the premium "
                "SKU (set keyVaultSku premium to get an RSA-HSM key)",
            )
        key = keyvault.Key(
            key_logical,
            key_name=args.key_name,
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.KeyPropertiesArgs(
                kty="RSA-HSM" if args.hsm else "RSA",
                key_size=KEY_SIZE,
                key_ops=["wrapKey", "unwrapKey"],
                attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
            ),
            opts=keep,
        )
        grant = authorization.RoleAssignment(
            f"{name}-crypto-user",
            role_assignment_name=assignment_name(args.stack_suffix, "workspace-key-crypto-user"),
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=role_definition_id(
                args.subscription_id, BuiltInRole.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
            ),
            scope=key.id,
            description="azure-mlops: the workspace's customer-managed key (wrap and unwrap only)",
            opts=keep,
        )
        self.key_vault_id = pulumi.Output.from_input(args.vault_id)
        self.key_uri = key.key_uri_with_version
        # Handing the identity out only once its grant exists makes every user of it (the workspace, which
        # reads the key while Azure creates it) wait for the grant.
        self.identity_id = pulumi.Output.all(identity.id, grant.id).apply(lambda ids: ids[0])
        self.identity_client_id = identity.client_id
        self.register_outputs({"key_uri": key.key_uri_with_version, "identity_id": identity.id})
