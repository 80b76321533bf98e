"""Every security setting the components promise holds in every committed stack."""

from __future__ import annotations

from typing import Any

from infra.plan.engine import Plan
from tests.infra.conftest import config_of

# Input keys that open a resource to the internet when set to these values.
PUBLIC_SETTINGS: dict[str, Any] = {
    "publicNetworkAccess": "Enabled",
    "enableNodePublicIp": True,
    "allowBlobPublicAccess": True,
    "anonymousPullEnabled": True,
    "allowPublicAccessWhenBehindVnet": True,
    "defaultAction": "Allow",
    "remoteLoginPortPublicAccess": "Enabled",
    "sshPublicAccess": "Enabled",
}


# Deliberately public in private stacks, for a reason tests/infra/test_lifecycle_private_profile.py checks:
# Event Grid delivers events and dead letters, as a trusted Azure service, into an account whose firewall
# admits nothing else.
INTENDED_PUBLIC: dict[str, list[str]] = {
    "lifecycle-inbox-account": ["publicNetworkAccess"],
}


def _public_settings(value: Any, path: str = "") -> list[str]:
    """Every public-access setting anywhere in a resource's inputs, as dotted paths."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else key
            if key in PUBLIC_SETTINGS and inner == PUBLIC_SETTINGS[key]:
                found.append(where)
            found += _public_settings(inner, where)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _public_settings(inner, f"{path}[{index}]")
    return found


def test_storage_accounts_are_hardened(plan: Plan) -> None:
    for account in plan.of_type("azure-native:storage:StorageAccount"):
        settings = account.inputs
        assert settings["kind"] == "StorageV2"
        assert settings["enableHttpsTrafficOnly"] is True
        assert settings["minimumTlsVersion"] == "TLS1_2"
        assert settings["allowBlobPublicAccess"] is False
        assert settings["allowSharedKeyAccess"] is False, f"{account.name} allows account keys"
        assert settings["defaultToOAuthAuthentication"] is True
        assert settings["allowCrossTenantReplication"] is False
        assert settings["encryption"]["requireInfrastructureEncryption"] is True


def test_the_data_lake_has_a_hierarchical_namespace_and_the_workspace_storage_does_not(plan: Plan) -> None:
    assert plan.named("data-lake-account").inputs["isHnsEnabled"] is True
    assert plan.named("workspace-storage-account").inputs["isHnsEnabled"] is False


def test_deleted_blobs_and_containers_are_recoverable(plan: Plan) -> None:
    services = plan.of_type("azure-native:storage:BlobServiceProperties")
    assert len(services) == 2 + (3 if config_of(plan.stack).lifecycle_events_enabled else 0)
    for service in services:
        assert service.inputs["deleteRetentionPolicy"]["enabled"] is True
        assert service.inputs["deleteRetentionPolicy"]["days"] >= 7
        assert service.inputs["containerDeleteRetentionPolicy"]["enabled"] is True
    assert plan.named("workspace-storage-blob-service").inputs["isVersioningEnabled"] is True


def test_containers_are_private(plan: Plan) -> None:
    containers = plan.of_type("azure-native:storage:BlobContainer")
    assert containers
    assert {c.inputs["publicAccess"] for c in containers} == {"None"}


def test_key_vault_uses_rbac_soft_delete_and_purge_protection(plan: Plan) -> None:
    properties = plan.one("azure-native:keyvault:Vault").inputs["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["enablePurgeProtection"] is True
    assert "accessPolicies" not in properties or properties["accessPolicies"] == []


def test_container_registry_has_no_admin_user_and_no_anonymous_pull(plan: Plan) -> None:
    registry = plan.one("azure-native:containerregistry:Registry").inputs
    assert registry["adminUserEnabled"] is False
    assert registry["anonymousPullEnabled"] is False


def test_the_workspace_uses_its_identity_and_no_legacy_mode(plan: Plan) -> None:
    workspace = plan.one("azure-native:machinelearningservices:Workspace").inputs
    assert workspace["identity"]["type"] == "SystemAssigned"
    assert workspace["v1LegacyMode"] is False
    assert workspace["imageBuildCompute"] == "cpu-cluster"
    assert workspace["allowPublicAccessWhenBehindVnet"] is False


def test_the_workspace_datastores_use_its_identity_with_arms_enum_value(plan: Plan) -> None:
    """systemDatastoresAuthMode takes AccessKey, Identity or UserDelegationSAS: the wire value is ARM's `Identity`
    (the SDK's enum), not a free string that only a case-insensitive comparison would accept.

    https://learn.microsoft.com/en-us/javascript/api/@azure/arm-machinelearning/knownsystemdatastoresauthmode?view=azure-node-preview
    """
    workspace = plan.one("azure-native:machinelearningservices:Workspace").inputs
    assert workspace["systemDatastoresAuthMode"] == "Identity"


def test_network_settings_follow_the_stack_profile(plan: Plan) -> None:
    config = config_of(plan.stack)
    workspace = plan.one("azure-native:machinelearningservices:Workspace").inputs
    expected_access = "Disabled" if config.is_private else "Enabled"
    assert workspace["publicNetworkAccess"] == expected_access
    assert workspace["managedNetwork"]["isolationMode"] == config.managed_network_isolation
    for account in plan.of_type("azure-native:storage:StorageAccount"):
        if account.name in INTENDED_PUBLIC and config.is_private:
            assert account.inputs["networkRuleSet"]["defaultAction"] == "Deny", account.name
            continue
        assert account.inputs["publicNetworkAccess"] == expected_access
    assert (
        plan.one("azure-native:keyvault:Vault").inputs["properties"]["publicNetworkAccess"] == expected_access
    )


def test_nothing_public_remains_in_private_stacks(plans: dict[str, Plan]) -> None:
    private = [stack for stack in plans if config_of(stack).is_private]
    assert private == ["staging", "prod"]
    for stack in private:
        exposed = {r.name: _public_settings(r.inputs) for r in plans[stack].resources}
        exposed = {name: paths for name, paths in exposed.items() if paths}
        assert exposed == {
            n: p for n, p in INTENDED_PUBLIC.items() if config_of(stack).lifecycle_events_enabled
        }, stack


def test_the_walker_finds_public_settings_in_the_public_dev_stack(plans: dict[str, Plan]) -> None:
    exposed = _public_settings(plans["dev"].one("azure-native:machinelearningservices:Workspace").inputs)
    assert exposed == ["publicNetworkAccess"]


def test_datastores_carry_no_credentials(plan: Plan) -> None:
    for datastore in plan.of_type("azure-native:machinelearningservices:Datastore"):
        properties = datastore.inputs["properties"]
        assert properties["datastoreType"] == "AzureDataLakeGen2"
        assert properties["credentials"] == {"credentialsType": "None"}
        assert properties["serviceDataAccessAuthIdentity"] == "WorkspaceSystemAssignedIdentity"


def test_clusters_scale_to_zero_with_local_auth_and_ssh_off(plan: Plan) -> None:
    config = config_of(plan.stack)
    clusters = [
        c
        for c in plan.of_type("azure-native:machinelearningservices:Compute")
        if c.inputs["properties"]["computeType"] == "AmlCompute"
    ]
    assert clusters
    for cluster in clusters:
        compute = cluster.inputs["properties"]
        scale = compute["properties"]["scaleSettings"]
        assert compute["disableLocalAuth"] is True
        assert compute["properties"]["remoteLoginPortPublicAccess"] == "Disabled"
        assert cluster.inputs["identity"]["type"] == "SystemAssigned"
        assert scale["minNodeCount"] == 0, f"{cluster.name} keeps nodes when idle"
        assert scale["maxNodeCount"] == config.cpu_cluster_max_nodes
        assert scale["nodeIdleTimeBeforeScaleDown"] == f"PT{config.cpu_cluster_idle_seconds}S"
        expected_priority = "LowPriority" if config.cpu_cluster_low_priority else "Dedicated"
        assert compute["properties"]["vmPriority"] == expected_priority
        assert compute["properties"]["enableNodePublicIp"] is (not config.is_private)
