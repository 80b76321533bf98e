"""Storage: a hardened StorageV2 account, used for the workspace's default storage and the data lake."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from infra.policy_waivers import public_profile_reason, waive_check

_GEO_REDUNDANT = frozenset({"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"})


@dataclass(frozen=True, kw_only=True)
class SecureStorageAccountArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the account."""
    location: str
    """Required. Azure region."""
    account_name: str
    """Required. Globally unique account name (3-24 lower-case letters and digits)."""
    sku: str
    """Required. Replication SKU, e.g. Standard_ZRS."""
    tags: dict[str, str]
    """Required. Tags for the account."""
    public_network_access: bool
    """Required. False disables the public endpoint (private profile); True keeps it for dev."""
    soft_delete_days: int
    """Required. Days deleted blobs, containers and file shares stay recoverable."""
    hierarchical_namespace: bool = False
    """Optional. True makes the account an ADLS Gen2 data lake."""
    containers: tuple[str, ...] = ()
    """Optional. Private blob containers (file systems, with a hierarchical namespace) to create."""
    protect: bool = False
    """Optional. Refuse deletion of the account (stateful data) from `pulumi destroy`, and keep it in Azure if it
    leaves the stack (retain on delete)."""
    trusted_services_only: bool = False
    """Optional. With public_network_access False: keep the public endpoint on, but its firewall admits only
    trusted Azure services (default action Deny, bypass AzureServices, no IP or VNet rules). For writers that
    are Azure services outside the VNet, such as Event Grid dead-lettering with a managed identity; a disabled
    public endpoint refuses them too."""

    def __post_init__(self) -> None:
        if self.trusted_services_only and self.public_network_access:
            msg = (
                "SecureStorageAccountArgs.trusted_services_only = True: only with public_network_access False "
                "(a public account already admits everyone)"
            )
            raise ValueError(msg)


class SecureStorageAccount(pulumi.ComponentResource):
    """A StorageV2 account with secure defaults.

    HTTPS only, TLS 1.2, no anonymous blob access, shared keys off (Entra ID only), infrastructure
    encryption, blob, container and file share soft delete, and versioning where Azure supports it (not with a
    hierarchical namespace, where versioning is unavailable).
    """

    account_id: pulumi.Output[str]
    """ARM ID of the account: linked to the workspace, scope of role assignments."""
    account_name: pulumi.Output[str]
    """Name of the account."""
    container_names: list[pulumi.Output[str]]
    """Names of the containers created, in the order given."""

    def __init__(
        self, name: str, args: SecureStorageAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:storage:SecureStorageAccount", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        account_name = f"{name}-account"
        _waive_stack_choices(account_name, args)
        account = storage.StorageAccount(
            account_name,
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=args.sku),
            access_tier="Hot",
            is_hns_enabled=args.hierarchical_namespace,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            # Entra ID only: AML reaches its storage with identities, so account keys are never needed.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            is_local_user_enabled=False,
            is_sftp_enabled=False,
            public_network_access="Enabled"
            if args.public_network_access or args.trusted_services_only
            else "Disabled",
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action="Allow" if args.public_network_access else "Deny",
                bypass="AzureServices",
            ),
            encryption=storage.EncryptionArgs(
                key_source="Microsoft.Storage",
                require_infrastructure_encryption=True,
                services=storage.EncryptionServicesArgs(
                    blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                    file=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        retention = storage.DeleteRetentionPolicyArgs(enabled=True, days=args.soft_delete_days)
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            delete_retention_policy=retention,
            container_delete_retention_policy=retention,
            is_versioning_enabled=not args.hierarchical_namespace,
            opts=child,
        )
        # Share soft delete: Azure ML keeps Studio's notebooks and user files in a file share of its storage; a
        # deleted share stays restorable for as long as deleted blobs.
        storage.FileServiceProperties(
            f"{name}-file-service",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            file_services_name="default",
            share_delete_retention_policy=retention,
            opts=child,
        )
        containers = [
            storage.BlobContainer(
                f"{name}-{container}",
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                container_name=container,
                public_access="None",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[blob_service]),
            )
            for container in args.containers
        ]

        self.account_id = account.id
        self.account_name = account.name
        self.container_names = [c.name for c in containers]
        self.register_outputs({"account_id": account.id, "account_name": account.name})


def _waive_stack_choices(resource: str, args: SecureStorageAccountArgs) -> None:
    """Skips for what the stack file chooses on purpose: a public network profile, zone- or locally-redundant data."""
    if args.public_network_access:
        reason = public_profile_reason(
            args.tags,
            "data scientists reach the account from their laptops, by design of the stack's networkProfile; "
            "shared keys stay off, so every request still needs an Entra identity",
        )
        waive_check(resource, "CKV_AZURE_59", reason)
        waive_check(resource, "CKV_AZURE_35", reason)
    if args.sku not in _GEO_REDUNDANT:
        waive_check(
            resource,
            "CKV_AZURE_206",
            f"storageSku {args.sku} is the stack's choice for all its accounts "
            f"({'three copies across zones: survives a zone outage' if 'ZRS' in args.sku else 'three copies in one datacenter'}); "
            "copies in a second region (Standard_GZRS) are a per-stack opt-in through storageSku",
        )
