"""One compliant and one violating resource per rule, built from inputs the mock engine captured.

Each case is (rule ID, Pulumi token, compliant wire inputs, violating wire inputs, stack context); the
violating inputs change only what the rule is about. Databricks has no resource in the program yet: its
inputs are what azure-native sends for a `databricks.Workspace` linked through `parameters.amlWorkspaceId`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from infra.plan.engine import Plan
from policy.rules.aml import StackContext

DEV = StackContext(environment="dev", private=False)
PROD = StackContext(environment="prod", private=True)
PROD_DEPLOYED = StackContext(
    environment="prod",
    private=True,
    previous_isolation="AllowOnlyApprovedOutbound",
    previous_customer_managed_key=False,
)
"""Prod with its workspace deployed: allow-only-approved outbound, Microsoft-managed keys."""
COMPUTE = "azure-native:machinelearningservices:Compute"
WORKSPACE = "azure-native:machinelearningservices:Workspace"


@dataclass(frozen=True)
class RuleCase:
    rule_id: str
    token: str
    compliant: dict[str, Any]
    violating: dict[str, Any]
    context: StackContext
    expected: str
    """A fragment the violation message must contain (the field and the value)."""


def _changed(inputs: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(inputs)
    node = changed
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return changed


def _instance(plan: Plan) -> dict[str, Any]:
    """A compute instance as the program declares one (dev has none configured by default)."""
    cluster = plan.named("compute-cpu-cluster").inputs
    return {
        "computeName": "ci-alice",
        "workspaceName": cluster["workspaceName"],
        "resourceGroupName": cluster["resourceGroupName"],
        "location": cluster["location"],
        "tags": cluster["tags"],
        "properties": {
            "computeType": "ComputeInstance",
            "disableLocalAuth": True,
            "properties": {
                "vmSize": "Standard_DS11_v2",
                "idleTimeBeforeShutdown": "PT60M",
                "sshSettings": {"sshPublicAccess": "Disabled"},
            },
        },
    }


def _databricks(workspace_id: str | None) -> dict[str, Any]:
    parameters = {"amlWorkspaceId": {"value": workspace_id}} if workspace_id else {}
    return {
        "workspaceName": "dbw-mlops-dev-we",
        "resourceGroupName": "rg-mlops-dev-we",
        "location": "westeurope",
        "sku": {"name": "premium"},
        "computeMode": "Hybrid",
        "managedResourceGroupId": "/subscriptions/0/resourceGroups/rg-dbw-managed",
        "parameters": parameters,
    }


def rule_cases(plans: dict[str, Plan]) -> list[RuleCase]:
    dev, prod = plans["dev"], plans["prod"]
    cluster = dev.named("compute-cpu-cluster").inputs
    instance = _instance(dev)
    private_ws = prod.named("workspace-workspace").inputs
    datastore = dev.named("workspace-datalake_raw").inputs
    account = dev.named("workspace-storage-account").inputs
    ws_id = prod.named("workspace-workspace").resource_id or ""
    subscription = prod.named("lifecycle-subscriptions-monitor-breach").inputs
    push = _changed(subscription, "deliveryWithResourceIdentity", None)
    push["destination"] = {"endpointType": "WebHook", "endpointUrl": "https://example.org/api/events?code=k"}
    return [
        RuleCase(
            "CKV_AMLOPS_1",
            COMPUTE,
            cluster,
            _changed(cluster, "properties.properties.scaleSettings.minNodeCount", 1.0),
            DEV,
            "minNodeCount = 1",
        ),
        RuleCase(
            "CKV_AMLOPS_2",
            COMPUTE,
            cluster,
            _changed(cluster, "properties.disableLocalAuth", False),
            DEV,
            "disableLocalAuth = False",
        ),
        RuleCase(
            "CKV_AMLOPS_2",
            COMPUTE,
            instance,
            _changed(instance, "properties.properties.sshSettings.sshPublicAccess", "Enabled"),
            DEV,
            "sshPublicAccess = 'Enabled'",
        ),
        RuleCase(
            "CKV_AMLOPS_3",
            COMPUTE,
            instance,
            _changed(instance, "properties.properties.idleTimeBeforeShutdown", None),
            DEV,
            "idleTimeBeforeShutdown = None",
        ),
        RuleCase(
            "CKV_AMLOPS_4",
            WORKSPACE,
            private_ws,
            _changed(private_ws, "publicNetworkAccess", "Enabled"),
            PROD,
            "publicNetworkAccess = 'Enabled'",
        ),
        RuleCase(
            "CKV_AMLOPS_5",
            WORKSPACE,
            private_ws,
            _changed(private_ws, "managedNetwork.isolationMode", "Disabled"),
            PROD,
            "isolationMode = 'Disabled'",
        ),
        RuleCase(
            "CKV_AMLOPS_6",
            "azure-native:machinelearningservices:Datastore",
            datastore,
            _changed(datastore, "properties.credentials", {"credentialsType": "AccountKey"}),
            DEV,
            "credentialsType = 'AccountKey'",
        ),
        RuleCase(
            "CKV_AMLOPS_6",
            WORKSPACE,
            private_ws,
            _changed(private_ws, "systemDatastoresAuthMode", "AccessKey"),
            PROD,
            "systemDatastoresAuthMode = 'AccessKey'",
        ),
        RuleCase(
            "CKV_AMLOPS_7",
            "azure-native:storage:StorageAccount",
            account,
            _changed(account, "allowSharedKeyAccess", None),
            DEV,
            "allowSharedKeyAccess = None",
        ),
        RuleCase(
            "CKV_AMLOPS_8",
            "azure-native:databricks:Workspace",
            _databricks(ws_id),
            _databricks(None),
            DEV,
            "amlWorkspaceId.value = None",
        ),
        RuleCase(
            "CKV_AMLOPS_9",
            "azure-native:eventgrid:SystemTopicEventSubscription",
            subscription,
            push,
            PROD,
            "properties.destination is set",
        ),
        RuleCase(
            "CKV_AMLOPS_20",
            WORKSPACE,
            private_ws,
            _changed(private_ws, "publicNetworkAccess", "Enabled"),
            PROD,
            "publicNetworkAccess = 'Enabled'",
        ),
        RuleCase(
            "CKV_AMLOPS_21",
            WORKSPACE,
            private_ws,
            _changed(private_ws, "managedNetwork.isolationMode", "AllowInternetOutbound"),
            PROD_DEPLOYED,
            "isolationMode = 'AllowInternetOutbound'",
        ),
        RuleCase(
            "CKV_AMLOPS_22",
            WORKSPACE,
            private_ws,
            _changed(
                private_ws, "encryption", {"status": "Enabled", "keyVaultProperties": {"keyIdentifier": "k"}}
            ),
            PROD_DEPLOYED,
            "encryption.status = 'Enabled'",
        ),
    ]
