"""The Azure Machine Learning workspace and its identity-based datastores."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra.policy_waivers import public_profile_reason, waive_check


@dataclass(frozen=True, kw_only=True)
class WorkspaceEncryption:
    """A customer-managed key for the workspace's data (infra/components/workspace_key.py)."""

    key_vault_id: pulumi.Input[str]
    """Required. ARM ID of the vault holding the key."""
    key_uri: pulumi.Input[str]
    """Required. The key's versioned URI."""
    identity_id: pulumi.Input[str]
    """Required. ARM ID of the user-assigned identity allowed to wrap and unwrap with the key."""
    identity_client_id: pulumi.Input[str]
    """Required. Client ID of that identity."""


@dataclass(frozen=True, kw_only=True)
class OutboundEndpoint:
    """A private endpoint outbound rule of the managed network: one sub-resource of one Azure resource."""

    resource_id: pulumi.Input[str]
    """Required. ARM ID of the resource the managed network reaches privately."""
    subresource: str
    """Required. Private link sub-resource, e.g. blob, queue, table, amlregistry, registry."""
    target: str
    """Required. Short, stable name of the resource reached (e.g. `data-lake`): the rules to one resource share
    it, and the grant that lets the workspace approve their connections is named after it."""


@dataclass(frozen=True, kw_only=True)
class WorkspaceArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the workspace."""
    location: str
    """Required. Azure region."""
    workspace_name: str
    """Required. Workspace name (3-33 characters)."""
    storage_account_id: pulumi.Input[str]
    """Required. ARM ID of the default storage account."""
    key_vault_id: pulumi.Input[str]
    """Required. ARM ID of the key vault."""
    container_registry_id: pulumi.Input[str]
    """Required. ARM ID of the container registry."""
    application_insights_id: pulumi.Input[str]
    """Required. ARM ID of the Application Insights component."""
    image_build_compute: str
    """Required. Compute cluster that builds environment images (needed once the registry is private)."""
    public_network_access: bool
    """Required. False disables the workspace's public endpoint (private profile)."""
    isolation_mode: str
    """Required. Managed network isolation: Disabled, AllowInternetOutbound or AllowOnlyApprovedOutbound."""
    tags: dict[str, str]
    """Required. Tags for the workspace."""
    data_lake_account_name: pulumi.Input[str] | None = None
    """Optional. ADLS Gen2 account whose file systems become datastores."""
    data_lake_datastores: dict[str, str] = field(default_factory=dict)
    """Conditional. Datastore name -> file system; used when data_lake_account_name is set."""
    data_lake_account_id: pulumi.Input[str] | None = None
    """Conditional. ARM ID of the data lake account; required when public_network_access is False and
    data_lake_datastores is set: the managed network then reaches the lake through private endpoints."""
    outbound_endpoints: dict[str, OutboundEndpoint] = field(default_factory=dict)
    """Optional. Rule name -> a private endpoint from the managed network to a sub-resource, beyond those Azure
    adds itself (infra/managed_outbound.py: the workspace storage's queue and table for batch endpoints, the
    Azure ML registry, its storage and its container registry); used when isolation_mode is not Disabled."""
    fqdn_outbound_rules: dict[str, str] = field(default_factory=dict)
    """Conditional. Rule name -> FQDN the managed network may reach; used when isolation_mode is
    AllowOnlyApprovedOutbound (the other modes either allow all outbound or have no managed network)."""
    encryption: WorkspaceEncryption | None = None
    """Optional. Encrypt the workspace's data with this customer-managed key and mark it high business impact;
    None keeps Microsoft-managed keys. Fixed at creation (infra/deployed_state.py refuses a switch)."""
    protect: bool = False
    """Optional. Refuse deletion of the workspace from `pulumi destroy`, and keep it in Azure if it leaves the
    stack (retain on delete)."""


class Workspace(pulumi.ComponentResource):
    """An AML workspace with a system-assigned identity and identity-based access to its storage.

    Legacy v1 mode is off, system datastores use the workspace identity instead of account keys, and
    images are built on the named compute cluster.
    """

    workspace_id: pulumi.Output[str]
    """ARM ID of the workspace."""
    workspace_name: pulumi.Output[str]
    """Name of the workspace."""
    principal_id: pulumi.Output[str]
    """Object ID of the workspace's system-assigned identity."""
    mlflow_tracking_uri: pulumi.Output[str]
    """MLflow tracking URI of the workspace (azureml://...)."""
    datastore_names: list[pulumi.Output[str]]
    """Names of the data lake datastores."""

    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("azure-mlops:azureml:Workspace", name, None, opts)
        if args.data_lake_datastores and args.data_lake_account_name is None:
            msg = "WorkspaceArgs.data_lake_account_name is required when data_lake_datastores is set"
            raise ValueError(msg)
        private_lake = bool(args.data_lake_datastores) and not args.public_network_access
        if private_lake and args.data_lake_account_id is None:
            msg = "WorkspaceArgs.data_lake_account_id is required when public_network_access is False"
            raise ValueError(msg)

        fqdn_rules = args.fqdn_outbound_rules if args.isolation_mode == "AllowOnlyApprovedOutbound" else {}
        endpoints = {
            **(
                _data_lake_endpoints(args.data_lake_account_id)
                if private_lake and args.data_lake_account_id is not None
                else {}
            ),
            **(args.outbound_endpoints if args.isolation_mode != "Disabled" else {}),
        }
        workspace_name = f"{name}-workspace"
        if args.public_network_access:
            _waive_public_workspace(workspace_name, args.tags)
        workspace = ml.Workspace(
            workspace_name,
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="Default",
            sku=ml.SkuArgs(name="Basic", tier="Basic"),
            **_identity_and_encryption(args.encryption),
            friendly_name=args.workspace_name,
            storage_account=args.storage_account_id,
            key_vault=args.key_vault_id,
            container_registry=args.container_registry_id,
            application_insights=args.application_insights_id,
            system_datastores_auth_mode=ml.SystemDatastoresAuthMode.IDENTITY,
            v1_legacy_mode=False,
            image_build_compute=args.image_build_compute,
            public_network_access="Enabled" if args.public_network_access else "Disabled",
            allow_public_access_when_behind_vnet=False,
            managed_network=ml.ManagedNetworkSettingsArgs(
                isolation_mode=args.isolation_mode,
                # The workspace's own storage, vault and registry get managed private endpoints from Azure;
                # a private data lake is not one of them, so jobs reach it only through these rules.
                outbound_rules={**_endpoint_rules(endpoints), **_fqdn_rules(fqdn_rules)} or None,
                # FQDN rules run through an Azure Firewall in the managed network; Basic is enough for a
                # handful of package hosts and costs a fraction of Standard.
                firewall_sku="Basic" if fqdn_rules else None,
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        datastores = [
            ml.Datastore(
                f"{name}-{datastore_name}",
                name=datastore_name,
                workspace_name=workspace.name,
                resource_group_name=args.resource_group_name,
                properties=ml.AzureDataLakeGen2DatastoreArgs(
                    datastore_type="AzureDataLakeGen2",
                    account_name=args.data_lake_account_name,
                    filesystem=filesystem,
                    # No credentials: each caller's own identity (user, compute, CI) authorises data access.
                    credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                    service_data_access_auth_identity="WorkspaceSystemAssignedIdentity",
                    description=f"Data lake file system {filesystem!r}, identity-based access.",
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for datastore_name, filesystem in args.data_lake_datastores.items()
        ]

        self.workspace_id = workspace.id
        self.workspace_name = workspace.name
        self.private_endpoint_rules = endpoints
        """The user-defined private endpoint outbound rules of its managed network (rule name -> endpoint). Azure ML
        requests each rule's connection as the workspace (infra/managed_outbound.py `approver_grants`)."""
        self.principal_id = workspace.identity.apply(
            lambda identity: identity.principal_id if identity else ""
        )
        self.mlflow_tracking_uri = workspace.ml_flow_tracking_uri
        self.datastore_names = [d.name for d in datastores]
        self.register_outputs(
            {
                "workspace_id": workspace.id,
                "workspace_name": workspace.name,
                "mlflow_tracking_uri": workspace.ml_flow_tracking_uri,
            }
        )


def _identity_and_encryption(encryption: WorkspaceEncryption | None) -> dict[str, object]:
    """The workspace's identity, plus with a customer-managed key the identity that reads the key, the key and
    the high business impact flag (less diagnostic data, encrypted scratch disks)."""
    if encryption is None:
        return {"identity": ml.ManagedServiceIdentityArgs(type="SystemAssigned")}
    return {
        # The system-assigned identity stays the workspace's own: soft delete and recovery need it.
        "identity": ml.ManagedServiceIdentityArgs(
            type="SystemAssigned,UserAssigned", user_assigned_identities=[encryption.identity_id]
        ),
        "encryption": ml.EncryptionPropertyArgs(
            status="Enabled",
            key_vault_properties=ml.KeyVaultPropertiesArgs(
                key_vault_arm_id=encryption.key_vault_id,
                key_identifier=encryption.key_uri,
                identity_client_id=encryption.identity_client_id,
            ),
            identity=ml.IdentityForCmkArgs(user_assigned_identity=encryption.identity_id),
        ),
        "hbi_workspace": True,
    }


def _data_lake_endpoints(account_id: pulumi.Input[str]) -> dict[str, OutboundEndpoint]:
    """Managed private endpoints from the workspace's managed network to the data lake's dfs and blob APIs."""
    return {
        f"datalake-{sub}": OutboundEndpoint(resource_id=account_id, subresource=sub, target="data-lake")
        for sub in ("dfs", "blob")
    }


def _endpoint_rules(endpoints: dict[str, OutboundEndpoint]) -> dict[str, ml.PrivateEndpointOutboundRuleArgs]:
    return {
        key: ml.PrivateEndpointOutboundRuleArgs(
            type="PrivateEndpoint",
            category="UserDefined",
            destination=ml.PrivateEndpointDestinationArgs(
                service_resource_id=endpoint.resource_id,
                subresource_target=endpoint.subresource,
                spark_enabled=False,
            ),
        )
        for key, endpoint in endpoints.items()
    }


def _fqdn_rules(rules: dict[str, str]) -> dict[str, ml.FqdnOutboundRuleArgs]:
    return {
        key: ml.FqdnOutboundRuleArgs(type="FQDN", category="UserDefined", destination=fqdn)
        for key, fqdn in rules.items()
    }


def _waive_public_workspace(resource: str, tags: dict[str, str]) -> None:
    reason = public_profile_reason(
        tags,
        "data scientists reach Studio from their laptops, by design of the stack's networkProfile; private "
        "stacks disable public access and reach data through private endpoints",
    )
    waive_check(resource, "CKV2_AZURE_49", reason)
    waive_check(resource, "CKV_AZURE_243", reason)
