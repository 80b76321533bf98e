"""Who may do what, on which single resource: every role assignment of a stack, in one place.

Each grant is the narrowest built-in role for one need, scoped to one resource, never to the resource
group or subscription. The storage accounts refuse shared keys, so every data-plane need is a role here: the
roles come from Microsoft's "Disable shared key access for your workspace's storage account" page
(https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage#scenarios-for-role-assignments).
Grants Azure ML makes itself are not repeated (AZURE_ML_ASSIGNS): a second assignment of the same role to the
same principal on the same scope fails with 409 RoleAssignmentExists.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.aml_registry import registry_grants
from infra.components.access import Grant, PrincipalType
from infra.config import StackConfig
from infra.roles import BuiltInRole as Role

_IDENTITY: PrincipalType = "ServicePrincipal"


@dataclass(frozen=True, kw_only=True)
class Scopes:
    """ARM IDs of the resources that grants apply to."""

    workspace: pulumi.Input[str]
    workspace_storage: pulumi.Input[str]
    data_lake: pulumi.Input[str]
    key_vault: pulumi.Input[str]
    container_registry: pulumi.Input[str]
    log_analytics: pulumi.Input[str]
    """The stack's Log Analytics workspace: where endpoint diagnostic settings send their logs."""
    aml_registry: pulumi.Input[str] | None = None
    """The shared Azure ML registry, when this stack creates it."""


AZURE_ML_ASSIGNS: tuple[tuple[str, Role, str], ...] = (
    ("workspace identity", Role.STORAGE_BLOB_DATA_CONTRIBUTOR, "workspace storage"),
    ("workspace identity", Role.STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR, "workspace storage"),
)
"""(principal, role, scope) that Azure ML assigns itself when it creates an identity-based workspace ("the managed
identity is automatically assigned the permissions it needs to access the storage account"), so the stack
never does: owning them twice would fail the deployment with 409, and removing ours would remove Azure's."""


def _grant(
    key: str, principal: pulumi.Input[str], kind: PrincipalType, role: Role, scope: pulumi.Input[str]
) -> Grant:
    return Grant(key=key, principal_id=principal, principal_type=kind, role=role, scope=scope)


def stack_grants(
    config: StackConfig,
    scopes: Scopes,
    workspace_principal: pulumi.Input[str],
    cluster_principals: dict[str, pulumi.Output[str]],
    registry_consumers: dict[str, str] | None = None,
) -> tuple[Grant, ...]:
    """The role assignments of a stack; `registry_consumers` (owner of the registry only) maps each stack that
    promotes through it to its deployer principal."""
    ws = workspace_principal
    grants = [
        # The workspace identity's roles on its own storage are Azure ML's (AZURE_ML_ASSIGNS). It previews data
        # lake data for Studio (datastores use the workspace identity for that) ...
        _grant("workspace-datalake-read", ws, _IDENTITY, Role.STORAGE_BLOB_DATA_READER, scopes.data_lake),
        # ... keeps connection secrets in its vault, and pushes the environment images it builds.
        _grant("workspace-keyvault-secrets", ws, _IDENTITY, Role.KEY_VAULT_SECRETS_OFFICER, scopes.key_vault),
        _grant("workspace-registry-push", ws, _IDENTITY, Role.ACR_PUSH, scopes.container_registry),
    ]
    for cluster, principal in cluster_principals.items():
        # Jobs run as the cluster's identity: pull images, read and write data and job outputs.
        grants += [
            _grant(
                f"{cluster}-registry-pull", principal, _IDENTITY, Role.ACR_PULL, scopes.container_registry
            ),
            _grant(
                f"{cluster}-datalake",
                principal,
                _IDENTITY,
                Role.STORAGE_BLOB_DATA_CONTRIBUTOR,
                scopes.data_lake,
            ),
            _grant(
                f"{cluster}-storage",
                principal,
                _IDENTITY,
                Role.STORAGE_BLOB_DATA_CONTRIBUTOR,
                scopes.workspace_storage,
            ),
            *_batch_grants(cluster, principal, _IDENTITY, scopes.workspace_storage),
        ]

    people: list[tuple[str, str, PrincipalType]] = []
    if config.data_scientist_group_id:
        people.append(("data-scientists", config.data_scientist_group_id, "Group"))
    if config.deployer_principal_id:
        people.append(("deployer", config.deployer_principal_id, _IDENTITY))
    for label, principal, kind in people:
        # Data scientists and CI run jobs, register models and deploy endpoints, but cannot create compute or
        # change the workspace; identity-based datastores need their own data-plane roles.
        grants += [
            _grant(f"{label}-workspace", principal, kind, Role.AZUREML_DATA_SCIENTIST, scopes.workspace),
            _grant(
                f"{label}-storage",
                principal,
                kind,
                Role.STORAGE_BLOB_DATA_CONTRIBUTOR,
                scopes.workspace_storage,
            ),
            _grant(
                f"{label}-datalake", principal, kind, Role.STORAGE_BLOB_DATA_CONTRIBUTOR, scopes.data_lake
            ),
        ]
    if config.data_scientist_group_id:
        # Notebooks in Studio and their file explorer live on the workspace storage's file share.
        grants.append(
            _grant(
                "data-scientists-storage-file",
                config.data_scientist_group_id,
                "Group",
                Role.STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR,
                scopes.workspace_storage,
            )
        )
    for user in config.compute_instance_users:
        # A compute instance mounts the file share and the default datastore as its user: without keys, the
        # user's own identity needs both data roles (the instance's name carries the same digest).
        label = f"ci-user-{user[:8]}"
        grants += [
            _grant(
                f"{label}-storage", user, "User", Role.STORAGE_BLOB_DATA_CONTRIBUTOR, scopes.workspace_storage
            ),
            _grant(
                f"{label}-storage-file",
                user,
                "User",
                Role.STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR,
                scopes.workspace_storage,
            ),
        ]

    if config.deployer_principal_id:
        # Batch endpoint jobs CD invokes run as the invoker and coordinate through queues and tables.
        grants += _batch_grants("deployer", config.deployer_principal_id, _IDENTITY, scopes.workspace_storage)
        # CD gives every online endpoint it deploys a diagnostic setting (pipelines/scripts/
        # endpoint_diagnostics.py): writing it needs Microsoft.Insights/diagnosticSettings/write on the
        # endpoint (inherited from the workspace), and naming the Log Analytics workspace as its destination
        # needs a monitoring role there too. AzureML Data Scientist has neither.
        grants += [
            _grant(
                "deployer-endpoint-diagnostics",
                config.deployer_principal_id,
                _IDENTITY,
                Role.MONITORING_CONTRIBUTOR,
                scopes.workspace,
            ),
            _grant(
                "deployer-log-analytics",
                config.deployer_principal_id,
                _IDENTITY,
                Role.MONITORING_CONTRIBUTOR,
                scopes.log_analytics,
            ),
        ]

    grants += _databricks_grants(config, scopes)

    if scopes.aml_registry is not None:
        grants += registry_grants(config, scopes.aml_registry, ws, registry_consumers or {})
    return tuple(grants)


def _batch_grants(
    label: str, principal: pulumi.Input[str], kind: PrincipalType, storage: pulumi.Input[str]
) -> list[Grant]:
    """ParallelRunStep, under batch endpoints, keeps its mini-batch bookkeeping in the default storage's queues
    and tables: Storage Queue Data Contributor and Storage Table Data Contributor (the page's PRS row)."""
    return [
        _grant(f"{label}-storage-queue", principal, kind, Role.STORAGE_QUEUE_DATA_CONTRIBUTOR, storage),
        _grant(f"{label}-storage-table", principal, kind, Role.STORAGE_TABLE_DATA_CONTRIBUTOR, storage),
    ]


def _databricks_grants(config: StackConfig, scopes: Scopes) -> list[Grant]:
    """The Databricks training job's principal logs to Azure ML; the scope's backend reads the vault."""
    job, first_party = config.databricks_job_principal_id, config.azure_databricks_principal_id
    if not config.databricks_enabled or job is None or first_party is None:
        return []
    return [
        # Runs, metrics and model registrations in the workspace, nothing that changes the workspace ...
        _grant("databricks-job-workspace", job, _IDENTITY, Role.AZUREML_DATA_SCIENTIST, scopes.workspace),
        # ... MLflow artifacts into the workspace's identity-based default datastore ...
        _grant(
            "databricks-job-storage",
            job,
            _IDENTITY,
            Role.STORAGE_BLOB_DATA_CONTRIBUTOR,
            scopes.workspace_storage,
        ),
        # ... and training data from the lake, read-only.
        _grant(
            "databricks-job-datalake-read", job, _IDENTITY, Role.STORAGE_BLOB_DATA_READER, scopes.data_lake
        ),
        # A Key Vault-backed scope reads secrets as the AzureDatabricks application; an RBAC vault must let it.
        _grant(
            "azure-databricks-keyvault-read",
            first_party,
            _IDENTITY,
            Role.KEY_VAULT_SECRETS_USER,
            scopes.key_vault,
        ),
    ]


TOPIC_QUEUE_GRANT = "lifecycle-queue-send"
TOPIC_DEAD_LETTER_GRANT = "lifecycle-dead-letters"
TOPIC_DELIVERY_GRANTS = (TOPIC_QUEUE_GRANT, TOPIC_DEAD_LETTER_GRANT)
"""The grants Event Grid delivery needs: the lifecycle subscriptions are created after them."""


@dataclass(frozen=True, kw_only=True)
class LifecycleScopes:
    """The lifecycle event handler's identities and the resources they may touch."""

    function_principal: pulumi.Input[str]
    """Object ID of the handler app's system-assigned identity."""
    topic_principal: pulumi.Input[str]
    """Object ID of the Event Grid system topic's identity."""
    function_storage: pulumi.Input[str]
    """The handler's own storage account."""
    event_queue: pulumi.Input[str]
    """The queue Event Grid delivers into and the handler reads."""
    poison_queue: pulumi.Input[str]
    """The queue the Functions host parks repeatedly failing messages in."""
    dead_letter_container: pulumi.Input[str]
    """The container Event Grid dead-letters into."""
    audit_store: pulumi.Input[str]
    """The audit store's account."""
    key_vault: pulumi.Input[str]
    """The stack's vault, holding the notification webhook secret."""
    application_insights: pulumi.Input[str]
    """The stack's Application Insights component."""


def lifecycle_grants(scopes: LifecycleScopes) -> tuple[Grant, ...]:
    """The handler reads no workspace data: its queue, its host storage, its audit table, one secret, its
    telemetry; the topic's identity may only deliver into the queue and dead-letter."""
    app, topic = scopes.function_principal, scopes.topic_principal
    return (
        # The Functions host keeps leases and its code package in blobs of its own account (identity-based
        # AzureWebJobsStorage and Flex deployment storage need Owner, not Contributor) ...
        _grant(
            "lifecycle-host-storage", app, _IDENTITY, Role.STORAGE_BLOB_DATA_OWNER, scopes.function_storage
        ),
        # ... writes audit records, and only tables, in the audit store ...
        _grant(
            "lifecycle-audit-table", app, _IDENTITY, Role.STORAGE_TABLE_DATA_CONTRIBUTOR, scopes.audit_store
        ),
        # ... resolves the webhook's Key Vault reference (read-only, values only) ...
        _grant("lifecycle-keyvault-read", app, _IDENTITY, Role.KEY_VAULT_SECRETS_USER, scopes.key_vault),
        # ... and sends its telemetry with an Entra token.
        _grant(
            "lifecycle-telemetry",
            app,
            _IDENTITY,
            Role.MONITORING_METRICS_PUBLISHER,
            scopes.application_insights,
        ),
        # The queue trigger peeks and reads the event queue, and deletes what it handled ...
        _grant("lifecycle-queue-read", app, _IDENTITY, Role.STORAGE_QUEUE_DATA_READER, scopes.event_queue),
        _grant(
            "lifecycle-queue-process",
            app,
            _IDENTITY,
            Role.STORAGE_QUEUE_DATA_MESSAGE_PROCESSOR,
            scopes.event_queue,
        ),
        # ... and the host moves a message that keeps failing to the poison queue (create-if-absent, add).
        _grant(
            "lifecycle-poison-queue", app, _IDENTITY, Role.STORAGE_QUEUE_DATA_CONTRIBUTOR, scopes.poison_queue
        ),
        # Event Grid delivers with the topic's identity: it may add messages to one queue ...
        _grant(
            TOPIC_QUEUE_GRANT,
            topic,
            _IDENTITY,
            Role.STORAGE_QUEUE_DATA_MESSAGE_SENDER,
            scopes.event_queue,
        ),
        # ... and dead-letter what it cannot deliver into one container.
        _grant(
            TOPIC_DEAD_LETTER_GRANT,
            topic,
            _IDENTITY,
            Role.STORAGE_BLOB_DATA_CONTRIBUTOR,
            scopes.dead_letter_container,
        ),
    )


def agent_pool_grants(devops_infrastructure_principal: str, vnet: pulumi.Input[str]) -> tuple[Grant, ...]:
    """Managed DevOps Pools joins its agents to the delegated subnet as the DevOpsInfrastructure service principal,
    which needs Reader and Network Contributor on the VNet (Microsoft's page names exactly these two roles, or a
    custom role with the join and service-association-link actions); nothing else of the stack."""
    return (
        _grant(
            "devops-infrastructure-vnet-reader", devops_infrastructure_principal, _IDENTITY, Role.READER, vnet
        ),
        _grant(
            "devops-infrastructure-vnet-network",
            devops_infrastructure_principal,
            _IDENTITY,
            Role.NETWORK_CONTRIBUTOR,
            vnet,
        ),
    )
