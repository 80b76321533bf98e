"""The stack program: read and validate the configuration, then compose the components.

No resource is declared before the configuration has been validated as a whole, and no code here
branches on the stack's name: stacks differ only in their `Pulumi.<stack>.yaml` values.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
from pulumi_azure_native import authorization, resources

from infra.access_policy import Scopes, stack_grants
from infra.agents_stack import (
    build_agent_egress,
    build_agent_pool,
    build_github_runner_jobs,
    build_github_runners,
    ci_diagnostics,
)
from infra.aml_registry import use_registry
from infra.components.access import AccessControl, AccessControlArgs
from infra.components.compute import ClusterSpec, ComputeFleet, ComputeFleetArgs, ComputeInstanceSpec
from infra.components.container_registry import ContainerRegistry, ContainerRegistryArgs
from infra.components.governance import AML_REGISTRY_LOGS, DiagnosticTarget, Governance, GovernanceArgs
from infra.components.key_vault import KeyVault, KeyVaultArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.private_endpoints import PrivateEndpoints, PrivateEndpointsArgs
from infra.components.storage import SecureStorageAccount, SecureStorageAccountArgs
from infra.components.workspace import Workspace, WorkspaceArgs, WorkspaceEncryption
from infra.components.workspace_key import WorkspaceKey, WorkspaceKeyArgs
from infra.config import StackConfig, parse_stack_config, project_config_values
from infra.databricks_stack import DatabricksStack, build_databricks, build_databricks_workspace
from infra.deployed_state import deployed_workspace, refuse_impossible_changes
from infra.github_runs_on import github_runs_on
from infra.gpu_sizes import gpus_per_node
from infra.lifecycle_stack import (
    build_alerts,
    build_lifecycle,
    diagnostics_of,
    endpoint_targets,
    grants_of,
    locks_of,
    subscribe,
)
from infra.managed_outbound import (
    MANAGED_ENDPOINT_ACCESS,
    approver_grants,
    batch_endpoint_rules,
    registry_rules,
)
from infra.naming import CPU_CLUSTER_NAME, GPU_CLUSTER_NAME, WORKSPACE_KEY_NAME, ResourceNames
from infra.private_profile import (
    DATABRICKS_ENDPOINT,
    DATABRICKS_ZONE,
    LIFECYCLE_SUBNET,
    PACKAGE_HOSTS,
    PRIVATE_ENDPOINT_SUBNET,
    build_private_network,
    endpoint_specs,
)
from infra.registry_approval import approval_grants
from infra.runner_bootstrap import RUNNER_DEPLOYER_ACCESS, runner_deployer_grants
from infra.stack_file import read_stack_file
from infra.stack_resources import StackResources
from infra.tags import standard_tags


def load_stack_config() -> StackConfig:
    """The current stack's configuration, validated (raises InvalidStackConfig).

    The stack file itself is read strictly first, as the offline plan reads it: the CLI would otherwise hand
    the program a duplicate key's last value, "None" for a null, and drop a misspelled namespace unseen.
    """
    from pulumi.runtime.config import CONFIG, get_config_env

    stack_file = Path.cwd() / f"Pulumi.{pulumi.get_stack()}.yaml"
    if stack_file.is_file():
        read_stack_file(stack_file, pulumi.get_project())
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
    names = ResourceNames.for_config(
        config, subscription_id=client.subscription_id, project=project, stack=stack
    )
    # Refuse, before declaring anything, what Azure would refuse half-way through the update.
    refuse_impossible_changes(deployed_workspace(names.resource_group, names.ml_workspace), config)
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
    runner_deployer = runner_deployer_grants(config, vault.vault_id, registry.registry_id)
    if runner_deployer:  # the runner job's image and key, written by the pipeline before the job exists
        AccessControl(
            RUNNER_DEPLOYER_ACCESS,
            AccessControlArgs(
                subscription_id=client.subscription_id, stack_suffix=names.suffix, grants=runner_deployer
            ),
        )
    aml_registry = use_registry(
        config, stack=stack, subscription_id=client.subscription_id, resource_group_name=group.name, tags=tags
    )
    datastores = {names.data_lake_datastore(c): c for c in config.data_lake_containers}
    workspace_key = (
        WorkspaceKey(
            "workspace-key",
            WorkspaceKeyArgs(
                resource_group_name=group.name,
                location=config.location,
                vault_id=vault.vault_id,
                vault_name=vault.vault_name,
                key_name=WORKSPACE_KEY_NAME,
                identity_name=names.workspace_key_identity,
                subscription_id=client.subscription_id,
                stack_suffix=names.suffix,
                tags=tags,
                hsm=config.key_vault_sku == "premium",
                protect=protect,
            ),
        )
        if config.workspace_customer_managed_key
        else None
    )
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
            outbound_endpoints={
                **batch_endpoint_rules(config, workspace_storage.account_id),
                **registry_rules(aml_registry.targets),
            },
            fqdn_outbound_rules=PACKAGE_HOSTS,
            encryption=WorkspaceEncryption(
                key_vault_id=workspace_key.key_vault_id,
                key_uri=workspace_key.key_uri,
                identity_id=workspace_key.identity_id,
                identity_client_id=workspace_key.identity_client_id,
            )
            if workspace_key
            else None,
            protect=protect,
        ),
        opts=pulumi.ResourceOptions(depends_on=[data_lake]),
    )
    # The first compute provisions the managed network, whose private endpoints are requested then: the workspace
    # must already hold the right to approve them, or they stay Pending.
    endpoint_approvers = approver_grants(
        workspace.principal_id, workspace.private_endpoint_rules, owns_registry=aml_registry.owned is not None
    )
    endpoint_approval = (
        [
            AccessControl(
                MANAGED_ENDPOINT_ACCESS,
                AccessControlArgs(
                    subscription_id=client.subscription_id,
                    stack_suffix=names.suffix,
                    grants=endpoint_approvers,
                ),
            )
        ]
        if endpoint_approvers
        else []
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
        opts=pulumi.ResourceOptions(depends_on=endpoint_approval),
    )
    shared = StackResources(
        resource_group_name=group.name,
        subscription_id=client.subscription_id,
        tenant_id=client.tenant_id,
        tags=tags,
        workspace_id=workspace.workspace_id,
        mlflow_tracking_uri=workspace.mlflow_tracking_uri,
        key_vault_id=vault.vault_id,
        key_vault_name=vault.vault_name,
        application_insights_id=monitoring.application_insights_id,
        application_insights_connection_string=monitoring.application_insights_connection_string,
        log_analytics_workspace_id=monitoring.log_analytics_workspace_id,
    )
    network = build_private_network(config, names, group.name, tags)
    agents = build_agent_pool(config, names, shared, network)
    agent_egress = build_agent_egress(config, names, shared, network)
    github_runners = build_github_runners(config, names, shared, network)
    runner_jobs = build_github_runner_jobs(
        config, names, shared, network, (registry.registry_id, registry.login_server), agent_egress
    )
    lifecycle = build_lifecycle(
        config,
        names,
        shared,
        network.subnet_ids[LIFECYCLE_SUBNET] if network and config.lifecycle_events_enabled else None,
    )
    access = AccessControl(
        "access",
        AccessControlArgs(
            subscription_id=client.subscription_id,
            stack_suffix=names.suffix,
            grants=grants_of(lifecycle, shared)
            + approval_grants(aml_registry, client.subscription_id)
            + stack_grants(
                config,
                Scopes(
                    workspace=workspace.workspace_id,
                    workspace_storage=workspace_storage.account_id,
                    data_lake=data_lake.account_id,
                    key_vault=vault.vault_id,
                    container_registry=registry.registry_id,
                    log_analytics=monitoring.log_analytics_workspace_id,
                    aml_registry=aml_registry.owned.registry_id if aml_registry.owned else None,
                ),
                workspace.principal_id,
                compute.cluster_principal_ids,
                registry_consumers=aml_registry.consumer_deployers,
            ),
        ),
    )
    subscribe(lifecycle, shared, access)
    dbw_workspace = (
        build_databricks_workspace(config, names, shared, network.vnet_id if network else None)
        if config.databricks_enabled
        else None
    )
    endpoints = None
    if network is not None:
        endpoints = PrivateEndpoints(
            "private-endpoints",
            PrivateEndpointsArgs(
                resource_group_name=group.name,
                location=config.location,
                subnet_id=network.subnet_ids[PRIVATE_ENDPOINT_SUBNET],
                zone_ids=network.zone_ids,
                endpoints=endpoint_specs(
                    names,
                    workspace_id=workspace.workspace_id,
                    storage_id=workspace_storage.account_id,
                    data_lake_id=data_lake.account_id,
                    key_vault_id=vault.vault_id,
                    container_registry_id=registry.registry_id,
                    aml_registry=aml_registry.targets if aml_registry.owned else None,
                    databricks_workspace_id=dbw_workspace.workspace_id if dbw_workspace else None,
                    lifecycle=endpoint_targets(lifecycle),
                ),
                tags=tags,
            ),
        )
    dbw: DatabricksStack | None = (
        build_databricks(
            config,
            shared,
            dbw_workspace,
            # One `pulumi up` from the VNet: the API calls wait until the workspace resolves privately.
            (*endpoints.resolvable[DATABRICKS_ENDPOINT], network.zone_links[DATABRICKS_ZONE])
            if endpoints and network
            else (),
        )
        if dbw_workspace
        else None
    )
    governance = Governance(
        "governance",
        GovernanceArgs(
            resource_group_name=group.name,
            resource_group_id=group.id,
            log_analytics_workspace_id=monitoring.log_analytics_workspace_id,
            tags=tags,
            action_group_name=names.action_group,
            action_group_short_name=names.action_group_short,
            # Storage accounts log per service: the blob service carries the data-plane logs.
            diagnostics={
                "workspace": DiagnosticTarget(workspace.workspace_id),
                "key-vault": DiagnosticTarget(vault.vault_id),
                "container-registry": DiagnosticTarget(registry.registry_id),
                "workspace-storage-blob": DiagnosticTarget(
                    workspace_storage.account_id.apply(lambda i: f"{i}/blobServices/default")
                ),
                "data-lake-blob": DiagnosticTarget(
                    data_lake.account_id.apply(lambda i: f"{i}/blobServices/default")
                ),
                **(
                    {"aml-registry": DiagnosticTarget(aml_registry.owned.registry_id, AML_REGISTRY_LOGS)}
                    if aml_registry.owned
                    else {}
                ),
                **diagnostics_of(lifecycle),
                **ci_diagnostics(agent_egress, runner_jobs),
            },
            monthly_budget_usd=config.monthly_budget_usd,
            alert_emails=config.alert_emails,
            # Not the workspace: a lock on it binds its endpoints, deployments and computes too (docs/private-profile.md).
            delete_locks={
                "workspace-storage": workspace_storage.account_id,
                "data-lake": data_lake.account_id,
                "key-vault": vault.vault_id,
                "container-registry": registry.registry_id,
                **({"aml-registry": aml_registry.owned.registry_id} if aml_registry.owned else {}),
                **locks_of(lifecycle),
            }
            if protect
            else {},
        ),
    )
    build_alerts(config, names, shared, governance.action_group_id, lifecycle)

    pulumi.export("subscriptionId", client.subscription_id)
    pulumi.export("resourceGroupName", group.name)
    pulumi.export("location", config.location)
    pulumi.export("workspaceName", workspace.workspace_name)
    # What the next change is compared against (policy pack config previous*; see docs/stack-lifecycle.md).
    pulumi.export("managedNetworkIsolation", config.managed_network_isolation)
    pulumi.export("workspaceCustomerManagedKey", config.workspace_customer_managed_key)
    pulumi.export("mlflowTrackingUri", workspace.mlflow_tracking_uri)
    pulumi.export("cpuClusterName", CPU_CLUSTER_NAME)
    # What sizes scale-out in generated projects: sweep concurrency and batch scoring instances (issue 17).
    pulumi.export("cpuClusterMaxNodes", config.cpu_cluster_max_nodes)
    pulumi.export("gpuClusterName", GPU_CLUSTER_NAME if config.gpu_cluster_vm_size else "")
    # One process per GPU in distributed jobs (the PyTorch projects' process_count_per_instance); 0 without a cluster.
    pulumi.export(
        "gpuClusterGpusPerNode",
        gpus_per_node(config.gpu_cluster_vm_size) if config.gpu_cluster_vm_size else 0,
    )
    pulumi.export("computeInstanceNames", compute.instance_names)
    pulumi.export("storageAccountName", workspace_storage.account_name)
    pulumi.export("dataLakeAccountName", data_lake.account_name)
    pulumi.export("dataLakeDatastoreNames", workspace.datastore_names)
    pulumi.export("keyVaultName", vault.vault_name)
    pulumi.export("containerRegistryName", registry.registry_name)
    pulumi.export("containerRegistryLoginServer", registry.login_server)
    pulumi.export("applicationInsightsName", monitoring.application_insights_name)
    pulumi.export("logAnalyticsWorkspaceId", monitoring.log_analytics_workspace_id)
    pulumi.export("amlRegistryName", aml_registry.name)
    pulumi.export("amlRegistryId", aml_registry.id)
    pulumi.export("amlRegistryAgentPoolName", aml_registry.agent_pool)
    pulumi.export("amlRegistryGithubRunsOn", aml_registry.github_runs_on)
    pulumi.export("lifecycleFunctionAppName", lifecycle.function_app_name if lifecycle else "")
    pulumi.export("lifecycleAuditStorageName", lifecycle.audit_storage_name if lifecycle else "")
    pulumi.export("agentPoolName", agents.pool_name if agents else "")
    pulumi.export("githubRunnerGroup", github_runners.runner_group if github_runners else "")
    pulumi.export("githubNetworkSettingsId", github_runners.github_id if github_runners else "")
    pulumi.export("githubRunsOn", github_runs_on(config, names))
    pulumi.export("githubRunnerImage", runner_jobs.image if runner_jobs else "")
    pulumi.export("natEgressIp", network.nat_public_ip if network and network.nat_public_ip else "")
    pulumi.export("databricksWorkspaceUrl", dbw.workspace_url.apply(lambda u: f"https://{u}") if dbw else "")
    pulumi.export("databricksWorkspaceId", dbw.workspace_id if dbw else "")
    pulumi.export("databricksJobId", dbw.job_id if dbw else "")
    pulumi.export("databricksClusterPolicyId", dbw.policy_id if dbw else "")
