"""Each committed stack runs to completion under the mock engine and declares the whole environment."""

from __future__ import annotations

import importlib
import inspect

import pytest

from infra.config import PROJECT
from infra.plan.engine import Plan
from infra.tags import standard_tags
from tests.infra.conftest import STACKS, config_of, registry_resources

WORKSPACE = "azure-native:machinelearningservices:Workspace"
STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
REGISTRY = "azure-native:containerregistry:Registry"
COMPUTE = "azure-native:machinelearningservices:Compute"
DATASTORE = "azure-native:machinelearningservices:Datastore"
INSIGHTS = "azure-native:applicationinsights:Component"
LOGS = "azure-native:operationalinsights:Workspace"
ROLE = "azure-native:authorization:RoleAssignment"
AML_REGISTRY = "azure-native:machinelearningservices:Registry"
STATEFUL = (STORAGE, VAULT, REGISTRY, WORKSPACE, AML_REGISTRY)

EXPECTED_COUNTS = {
    "azure-native:resources:ResourceGroup": 1,
    LOGS: 1,
    INSIGHTS: 1,
    STORAGE: 2,
    "azure-native:storage:BlobServiceProperties": 2,
    VAULT: 1,
    REGISTRY: 1,
    WORKSPACE: 1,
}

EXPECTED_OUTPUTS = {
    "agentPoolName",
    "subscriptionId",
    "resourceGroupName",
    "location",
    "workspaceName",
    "mlflowTrackingUri",
    "cpuClusterName",
    "cpuClusterMaxNodes",
    "gpuClusterName",
    "gpuClusterGpusPerNode",
    "computeInstanceNames",
    "storageAccountName",
    "dataLakeAccountName",
    "dataLakeDatastoreNames",
    "keyVaultName",
    "containerRegistryName",
    "containerRegistryLoginServer",
    "applicationInsightsName",
    "logAnalyticsWorkspaceId",
    "amlRegistryName",
    "amlRegistryId",
    "amlRegistryAgentPoolName",
    "amlRegistryGithubRunsOn",
    "githubRunsOn",
    "githubRunnerImage",
    "githubRunnerGroup",
    "githubNetworkSettingsId",
    "natEgressIp",
    "databricksWorkspaceUrl",
    "databricksWorkspaceId",
    "databricksJobId",
    "databricksClusterPolicyId",
    "lifecycleFunctionAppName",
    "lifecycleAuditStorageName",
    "managedNetworkIsolation",
    "workspaceCustomerManagedKey",
}


def _storage(plan: Plan, component: str):
    return plan.named(f"{component}-account")


def test_the_environment_is_complete(plan: Plan) -> None:
    config = config_of(plan.stack)
    counts = {token: len(plan.of_type(token)) for token in EXPECTED_COUNTS}
    # Lifecycle events add the handler's own storage account, the inbox (queues, dead letters) and the audit store.
    lifecycle = 3 if config.lifecycle_events_enabled else 0
    services = "azure-native:storage:BlobServiceProperties"
    assert counts == EXPECTED_COUNTS | {STORAGE: 2 + lifecycle, services: 2 + lifecycle}
    containers = [
        c.inputs["containerName"]
        for c in plan.of_type("azure-native:storage:BlobContainer")
        if c.parent == "data-lake"
    ]
    assert sorted(containers) == sorted(config.data_lake_containers)
    assert len(plan.of_type(DATASTORE)) == len(config.data_lake_containers)
    clusters = [c.inputs["computeName"] for c in plan.of_type(COMPUTE)]
    assert "cpu-cluster" in clusters


def test_components_parent_their_resources(plan: Plan) -> None:
    config = config_of(plan.stack)
    expected = {
        "monitoring",
        "workspace-storage",
        "data-lake",
        "key-vault",
        "container-registry",
        "workspace",
        "compute",
        "access",
        "governance",
    }
    if config.is_private:
        # A private stack's managed network reaches its data lake through rules the workspace must approve.
        expected |= {"network", "private-endpoints", "agents", "agents-access", "managed-endpoint-access"}
    if config.is_private and config.agent_egress == "firewall":
        expected.add("agent-egress")
    if config.github_container_apps:
        expected |= {"github-runner-jobs", "github-runner-jobs-access"}
    if config.create_aml_registry:
        expected.add("aml-registry")
    if config.lifecycle_events_enabled:
        expected |= {
            "lifecycle",
            "lifecycle-storage",
            "lifecycle-audit",
            "lifecycle-inbox",
            "lifecycle-subscriptions",
        }
    if config.alert_emails:
        expected.add("alerts")
    components = {r.name for r in plan.resources if not r.custom}
    assert components == expected
    orphans = [
        r.name
        for r in plan.resources
        if r.custom and r.parent is None and r.type != "azure-native:resources:ResourceGroup"
    ]
    assert orphans == []
    assert all(r.type.startswith("azure-mlops:") for r in plan.resources if not r.custom)


def test_the_workspace_points_at_the_resources_the_stack_created(plan: Plan) -> None:
    workspace = plan.one(WORKSPACE).inputs
    assert workspace["storageAccount"] == _storage(plan, "workspace-storage").resource_id
    assert workspace["keyVault"] == plan.one(VAULT).resource_id
    assert workspace["containerRegistry"] == plan.one(REGISTRY).resource_id
    assert workspace["applicationInsights"] == plan.one(INSIGHTS).resource_id
    assert plan.one(INSIGHTS).inputs["workspaceResourceId"] == plan.one(LOGS).resource_id


def test_datastores_and_compute_belong_to_the_workspace(plan: Plan) -> None:
    workspace_name = plan.one(WORKSPACE).inputs["workspaceName"]
    data_lake = _storage(plan, "data-lake").inputs["accountName"]
    for datastore in plan.of_type(DATASTORE):
        assert datastore.inputs["workspaceName"] == workspace_name
        assert datastore.inputs["properties"]["accountName"] == data_lake
    for compute in plan.of_type(COMPUTE):
        assert compute.inputs["workspaceName"] == workspace_name
    group = plan.one("azure-native:resources:ResourceGroup").inputs["resourceGroupName"]
    in_group = [r for r in plan.resources if r.custom and "resourceGroupName" in r.inputs]
    assert {r.inputs["resourceGroupName"] for r in in_group} == {group}


def test_role_assignments_target_resources_of_this_stack(plan: Plan) -> None:
    ids = {r.resource_id for r in plan.resources if r.resource_id}
    if plan.of_type("azure-native:machinelearningservices:Registry"):
        ids |= set(registry_resources(plan))  # the storage and ACR Azure creates for the stack's own registry
    roles = plan.of_type(ROLE)
    assert roles, "no role assignments declared"
    vaults = {r.resource_id for r in plan.of_type("azure-native:keyvault:Vault")}
    for role in roles:
        scope = role.inputs["scope"]
        # A role may be scoped to one secret of the stack's vault (the secret is stored by its owner, not Pulumi).
        in_vault = "/secrets/" in scope and scope.rsplit("/secrets/", 1)[0] in vaults
        assert scope in ids or in_vault, f"{role.name} is scoped outside the stack: {scope}"
        assert "/providers/" in role.inputs["scope"], (
            f"{role.name} is scoped to a whole group or subscription"
        )
    principals = {r.inputs["principalId"] for r in roles}
    assert "" not in principals, "a grant went to an identity whose principal ID was never resolved"


def test_outputs_are_what_pipelines_and_examples_consume(plan: Plan) -> None:
    outputs = plan.outputs
    assert set(outputs) == EXPECTED_OUTPUTS
    workspace = plan.one(WORKSPACE)
    assert outputs["workspaceName"] == workspace.inputs["workspaceName"]
    assert outputs["mlflowTrackingUri"] == (
        f"azureml://{workspace.inputs['location']}.api.azureml.ms/mlflow/v1.0{workspace.resource_id}"
    )
    assert outputs["storageAccountName"] == _storage(plan, "workspace-storage").inputs["accountName"]
    # Deployments send their endpoint logs here: the endpoint log alerts query this workspace.
    assert (
        outputs["logAnalyticsWorkspaceId"]
        == plan.one("azure-native:operationalinsights:Workspace").resource_id
    )
    assert outputs["dataLakeAccountName"] == _storage(plan, "data-lake").inputs["accountName"]
    assert outputs["containerRegistryLoginServer"] == f"{outputs['containerRegistryName']}.azurecr.io"
    assert outputs["cpuClusterName"] == "cpu-cluster"
    # The cluster's own size, not a copy: sweep concurrency and batch instances in generated projects follow it.
    (cluster,) = [c for c in plan.of_type(COMPUTE) if c.inputs["computeName"] == outputs["cpuClusterName"]]
    assert (
        outputs["cpuClusterMaxNodes"]
        == cluster.inputs["properties"]["properties"]["scaleSettings"]["maxNodeCount"]
    )
    assert sorted(outputs["dataLakeDatastoreNames"]) == sorted(
        d.inputs["name"] for d in plan.of_type(DATASTORE)
    )


def _accepts_tags(token: str) -> bool:
    _, module, name = token.split(":")
    resource_class = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def test_every_taggable_resource_carries_the_standard_tags(plan: Plan) -> None:
    expected = standard_tags(config_of(plan.stack), project=PROJECT, stack=plan.stack)
    taggable = [r for r in plan.resources if r.custom and _accepts_tags(r.type)]
    assert len(taggable) >= 9  # group, logs, insights, two accounts, vault, registry, workspace, cluster
    untagged = [r.name for r in taggable if r.inputs.get("tags") != expected]
    assert untagged == []


@pytest.mark.parametrize("stack", STACKS)
def test_stateful_resources_are_protected_exactly_where_configured(
    stack: str, plans: dict[str, Plan]
) -> None:
    plan = plans[stack]
    wanted = config_of(stack).protect_stateful_resources
    stateful = [r for r in plan.resources if r.type in STATEFUL]
    config = config_of(stack)
    lifecycle_accounts = 3 if config.lifecycle_events_enabled else 0
    assert len(stateful) == 5 + int(config.create_aml_registry) + lifecycle_accounts
    assert {r.name: (r.protect, r.retain_on_delete) for r in stateful} == {
        r.name: (wanted, wanted) for r in stateful
    }
    # The audit table and the queued events are protected with their accounts: entities and messages have no
    # soft delete.
    with_accounts = (
        ["lifecycle-queue", "lifecycle-poison-queue", "lifecycle-audit-table"]
        if wanted and config.lifecycle_events_enabled
        else []
    )
    unprotected_elsewhere = [r.name for r in plan.resources if r.type not in STATEFUL and r.protect]
    assert sorted(unprotected_elsewhere) == sorted(with_accounts)


def test_prod_protects_stateful_resources_and_dev_does_not(plans: dict[str, Plan]) -> None:
    assert all(r.protect and r.retain_on_delete for r in plans["prod"].resources if r.type in STATEFUL)
    assert not any(r.protect or r.retain_on_delete for r in plans["dev"].resources)


def test_stacks_get_distinct_globally_unique_names(plans: dict[str, Plan]) -> None:
    for key in ("storageAccountName", "dataLakeAccountName", "keyVaultName", "containerRegistryName"):
        values = [plans[s].outputs[key] for s in STACKS]
        assert len(set(values)) == len(STACKS), key
