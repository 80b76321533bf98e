"""The stack program: read and validate the configuration, then compose the components.

No resource is declared before the configuration has been validated as a whole, and no code here
branches on the stack's name: stacks differ only in their `Pulumi.<stack>.yaml` values.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, resources

from infra.components.access import AccessControl, AccessControlArgs, Grant, PrincipalType
from infra.components.compute import ClusterSpec, ComputeFleet, ComputeFleetArgs, ComputeInstanceSpec
from infra.components.container_registry import ContainerRegistry, ContainerRegistryArgs
from infra.components.key_vault import KeyVault, KeyVaultArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.storage import SecureStorageAccount, SecureStorageAccountArgs
from infra.components.workspace import Workspace, WorkspaceArgs
from infra.config import StackConfig, parse_stack_config, project_config_values
from infra.naming import CPU_CLUSTER_NAME, GPU_CLUSTER_NAME, ResourceNames
from infra.roles import BuiltInRole
from infra.tags import standard_tags


def load_stack_config() -> StackConfig:
    """The current stack's configuration, validated (raises InvalidStackConfig)."""
    from pulumi.runtime.config import CONFIG, get_config_env

    values = {**(get_config_env() or {}), **CONFIG.get()}
    return parse_stack_config(project_config_values(values, pulumi.get_project()))


def _clusters(config: StackConfig) -> tuple[ClusterSpec, ...]:
    cpu = ClusterSpec(
        name=CPU_CLUSTER_NAME,
        vm_size=config.cpu_cluster_vm_size,
        min_nodes=config.cpu_cluster_min_nodes,
        max_nodes=config.cpu_cluster_max_nodes,
        idle_seconds=config.cpu_cluster_idle_seconds,
        low_priority=config.cpu_cluster_low_priority,
    )
    if config.gpu_cluster_vm_size is None:
        return (cpu,)
    gpu = ClusterSpec(
        name=GPU_CLUSTER_NAME,
        vm_size=config.gpu_cluster_vm_size,
        max_nodes=config.gpu_cluster_max_nodes,
        idle_seconds=config.cpu_cluster_idle_seconds,
        low_priority=config.cpu_cluster_low_priority,
    )
    return (cpu, gpu)


def build(config: StackConfig) -> None:
    """Declare the whole environment for a validated configuration and export its outputs."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    client = authorization.get_client_config()
    names = ResourceNames.for_stack(
        workload=config.workload,
        environment=config.environment,
        location=config.location,
        subscription_id=client.subscription_id,
        project=project,
        stack=stack,
    )
    tags = standard_tags(config, project=project, stack=stack)
    public = not config.is_private
    protect = config.protect_stateful_resources

    group = resources.ResourceGroup(
        "resource-group", resource_group_name=names.resource_group, location=config.location, tags=tags
    )
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            resource_group_name=group.name,
            location=config.location,
            log_analytics_name=names.log_analytics,
            application_insights_name=names.application_insights,
            retention_days=config.log_retention_days,
            tags=tags,
        ),
    )
    workspace_storage = SecureStorageAccount(
        "workspace-storage",
        SecureStorageAccountArgs(
            resource_group_name=group.name,
            location=config.location,
            account_name=names.storage_account,
            sku=config.storage_sku,
            tags=tags,
            public_network_access=public,
            soft_delete_days=config.soft_delete_retention_days,
            protect=protect,
        ),
    )
    data_lake = SecureStorageAccount(
        "data-lake",
        SecureStorageAccountArgs(
            resource_group_name=group.name,
            location=config.location,
            account_name=names.data_lake,
            sku=config.storage_sku,
            tags=tags,
            public_network_access=public,
            soft_delete_days=config.soft_delete_retention_days,
            hierarchical_namespace=True,
            containers=config.data_lake_containers,
            protect=protect,
        ),
    )
    vault = KeyVault(
        "key-vault",
        KeyVaultArgs(
            resource_group_name=group.name,
            location=config.location,
            vault_name=names.key_vault,
            tenant_id=client.tenant_id,
            sku=config.key_vault_sku,
            tags=tags,
            public_network_access=public,
            soft_delete_days=config.soft_delete_retention_days,
            protect=protect,
        ),
    )
    registry = ContainerRegistry(
        "container-registry",
        ContainerRegistryArgs(
            resource_group_name=group.name,
            location=config.location,
            registry_name=names.container_registry,
            sku=config.container_registry_sku,
            tags=tags,
            public_network_access=public,
            protect=protect,
        ),
    )
    datastores = {names.data_lake_datastore(c): c for c in config.data_lake_containers}
    workspace = Workspace(
        "workspace",
        WorkspaceArgs(
            resource_group_name=group.name,
            location=config.location,
            workspace_name=names.ml_workspace,
            storage_account_id=workspace_storage.account_id,
            key_vault_id=vault.vault_id,
            container_registry_id=registry.registry_id,
            application_insights_id=monitoring.application_insights_id,
            image_build_compute=CPU_CLUSTER_NAME,
            public_network_access=public,
            isolation_mode=config.managed_network_isolation,
            tags=tags,
            data_lake_account_name=data_lake.account_name,
            data_lake_datastores=datastores,
            data_lake_account_id=data_lake.account_id,
            protect=protect,
        ),
        opts=pulumi.ResourceOptions(depends_on=[data_lake]),
    )
    compute = ComputeFleet(
        "compute",
        ComputeFleetArgs(
            resource_group_name=group.name,
            workspace_name=workspace.workspace_name,
            location=config.location,
            tenant_id=client.tenant_id,
            tags=tags,
            node_public_ip=public,
            clusters=_clusters(config),
            instances=tuple(
                ComputeInstanceSpec(
                    name=names.compute_instance(user),
                    user_object_id=user,
                    vm_size=config.compute_instance_vm_size,
                    idle_minutes=config.compute_instance_idle_minutes,
                )
                for user in config.compute_instance_users
            ),
        ),
    )
    AccessControl(
        "access",
        AccessControlArgs(
            subscription_id=client.subscription_id,
            stack_suffix=names.suffix,
            grants=_grants(config, workspace, workspace_storage, data_lake, vault, registry, compute),
        ),
    )

    pulumi.export("subscriptionId", client.subscription_id)
    pulumi.export("resourceGroupName", group.name)
    pulumi.export("location", config.location)
    pulumi.export("workspaceName", workspace.workspace_name)
    pulumi.export("mlflowTrackingUri", workspace.mlflow_tracking_uri)
    pulumi.export("cpuClusterName", CPU_CLUSTER_NAME)
    pulumi.export("gpuClusterName", GPU_CLUSTER_NAME if config.gpu_cluster_vm_size else "")
    pulumi.export("computeInstanceNames", compute.instance_names)
    pulumi.export("storageAccountName", workspace_storage.account_name)
    pulumi.export("dataLakeAccountName", data_lake.account_name)
    pulumi.export("dataLakeDatastoreNames", workspace.datastore_names)
    pulumi.export("keyVaultName", vault.vault_name)
    pulumi.export("containerRegistryName", registry.registry_name)
    pulumi.export("containerRegistryLoginServer", registry.login_server)
    pulumi.export("applicationInsightsName", monitoring.application_insights_name)


def _grants(
    config: StackConfig,
    workspace: Workspace,
    workspace_storage: SecureStorageAccount,
    data_lake: SecureStorageAccount,
    vault: KeyVault,
    registry: ContainerRegistry,
    compute: ComputeFleet,
) -> tuple[Grant, ...]:
    """Who may do what, on which single resource: the narrowest built-in role for each need."""
    ws = workspace.principal_id
    grants = [
        # The workspace identity reads and writes its own storage (artifacts, notebooks, snapshots) ...
        Grant(
            key="workspace-storage-blob",
            principal_id=ws,
            principal_type="ServicePrincipal",
            role=BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
            scope=workspace_storage.account_id,
        ),
        Grant(
            key="workspace-storage-file",
            principal_id=ws,
            principal_type="ServicePrincipal",
            role=BuiltInRole.STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR,
            scope=workspace_storage.account_id,
        ),
        # ... previews data lake data for Studio (datastores use the workspace identity for that) ...
        Grant(
            key="workspace-datalake-read",
            principal_id=ws,
            principal_type="ServicePrincipal",
            role=BuiltInRole.STORAGE_BLOB_DATA_READER,
            scope=data_lake.account_id,
        ),
        # ... keeps connection secrets in its vault, and pushes the environment images it builds.
        Grant(
            key="workspace-keyvault-secrets",
            principal_id=ws,
            principal_type="ServicePrincipal",
            role=BuiltInRole.KEY_VAULT_SECRETS_OFFICER,
            scope=vault.vault_id,
        ),
        Grant(
            key="workspace-registry-push",
            principal_id=ws,
            principal_type="ServicePrincipal",
            role=BuiltInRole.ACR_PUSH,
            scope=registry.registry_id,
        ),
    ]
    for cluster, principal in compute.cluster_principal_ids.items():
        # Jobs run as the cluster's identity: pull images, read and write data and job outputs.
        grants += [
            Grant(
                key=f"{cluster}-registry-pull",
                principal_id=principal,
                principal_type="ServicePrincipal",
                role=BuiltInRole.ACR_PULL,
                scope=registry.registry_id,
            ),
            Grant(
                key=f"{cluster}-datalake",
                principal_id=principal,
                principal_type="ServicePrincipal",
                role=BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
                scope=data_lake.account_id,
            ),
            Grant(
                key=f"{cluster}-storage",
                principal_id=principal,
                principal_type="ServicePrincipal",
                role=BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
                scope=workspace_storage.account_id,
            ),
        ]
    people: list[tuple[str, str, PrincipalType]] = []
    if config.data_scientist_group_id:
        people.append(("data-scientists", config.data_scientist_group_id, "Group"))
    if config.deployer_principal_id:
        people.append(("deployer", config.deployer_principal_id, "ServicePrincipal"))
    for label, principal, kind in people:
        # Data scientists and CI run jobs, register models and deploy endpoints, but cannot create compute or
        # change the workspace; identity-based datastores need their own data-plane roles.
        grants += [
            Grant(
                key=f"{label}-workspace",
                principal_id=principal,
                principal_type=kind,
                role=BuiltInRole.AZUREML_DATA_SCIENTIST,
                scope=workspace.workspace_id,
            ),
            Grant(
                key=f"{label}-storage",
                principal_id=principal,
                principal_type=kind,
                role=BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
                scope=workspace_storage.account_id,
            ),
            Grant(
                key=f"{label}-datalake",
                principal_id=principal,
                principal_type=kind,
                role=BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
                scope=data_lake.account_id,
            ),
        ]
    return tuple(grants)
