"""Budgets and alerts, diagnostic logs, and proof that destroying prod cannot delete data."""

from __future__ import annotations

from types import SimpleNamespace

from infra.agents_stack import RUNNER_JOBS_DIAGNOSTICS, ci_diagnostics
from infra.components.governance import BUDGET_THRESHOLDS, CONTAINER_APPS_ENVIRONMENT_LOGS, LogProfile
from infra.plan.engine import Plan
from infra.roles import BuiltInRole
from tests.infra.conftest import STACKS, config_of

DATA_STORES = (
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
    "azure-native:machinelearningservices:Registry",
)


ALL = ([{"categoryGroup": "allLogs", "enabled": True}], True)


def test_diagnostics_of_every_logging_resource_go_to_log_analytics(plan: Plan) -> None:
    """Each resource's setting asks for the categories its type supports, and for metrics only where it has them:
    the workspace, vault, container registry and storage services all logs (allLogs) and AllMetrics; the AML
    registry its two asset events, without metrics; the lifecycle function app FunctionAppLogs; the Event Grid
    system topic DeliveryFailures.

    https://learn.microsoft.com/en-us/azure/azure-monitor/reference/supported-logs/microsoft-machinelearningservices-registries-logs
    https://learn.microsoft.com/en-us/azure/azure-monitor/reference/supported-logs/microsoft-web-sites-logs
    https://learn.microsoft.com/en-us/azure/azure-monitor/reference/supported-logs/microsoft-eventgrid-systemtopics-logs
    """
    logs = plan.one("azure-native:operationalinsights:Workspace").resource_id
    settings = plan.of_type("azure-native:monitor:DiagnosticSetting")
    actual = {
        s.inputs["resourceUri"]: (
            s.inputs["logs"],
            s.inputs.get("metrics") == [{"category": "AllMetrics", "enabled": True}],
        )
        for s in settings
    }
    expected = {
        plan.one("azure-native:machinelearningservices:Workspace").resource_id: ALL,
        plan.one("azure-native:keyvault:Vault").resource_id: ALL,
        plan.one("azure-native:containerregistry:Registry").resource_id: ALL,
        plan.named("workspace-storage-account").resource_id + "/blobServices/default": ALL,
        plan.named("data-lake-account").resource_id + "/blobServices/default": ALL,
    }
    config = config_of(plan.stack)
    if config.create_aml_registry:
        events = [
            {"category": c, "enabled": True} for c in ("RegistryAssetReadEvent", "RegistryAssetWriteEvent")
        ]
        expected[plan.one("azure-native:machinelearningservices:Registry").resource_id] = (events, False)
    if config.lifecycle_events_enabled:
        # The audit table's data-plane log is the audit trail's tamper evidence.
        expected[plan.named("lifecycle-audit-account").resource_id + "/tableServices/default"] = ALL
        expected[plan.one("azure-native:web:WebApp").resource_id] = (
            [{"category": "FunctionAppLogs", "enabled": True}],
            True,
        )
        expected[plan.one("azure-native:eventgrid:SystemTopic").resource_id] = (
            [{"category": "DeliveryFailures", "enabled": True}],
            True,
        )
    if config.is_private and config.agent_egress == "firewall":
        expected[plan.one("azure-native:network:AzureFirewall").resource_id] = ALL
    if config.github_container_apps:
        # Container Apps environments have logs and no platform metrics to export.
        expected[plan.one("azure-native:app:ManagedEnvironment").resource_id] = (
            [{"categoryGroup": "allLogs", "enabled": True}],
            False,
        )
    assert actual == expected
    assert len(settings) == len(expected)
    for setting in settings:
        assert setting.inputs["workspaceId"] == logs
        assert setting.inputs["logAnalyticsDestinationType"] == "Dedicated"
    if not config.create_aml_registry:
        assert plan.of_type("azure-native:machinelearningservices:Registry") == []


def test_budget_alerts_the_action_group_at_each_threshold(plans: dict[str, Plan]) -> None:
    for stack in STACKS:
        config, plan = config_of(stack), plans[stack]
        budgets = plan.of_type("azure-native:consumption:Budget")
        if config.monthly_budget_usd == 0:
            assert budgets == []
            continue
        (budget,) = budgets
        group = plan.one("azure-native:monitor:ActionGroup")
        assert budget.inputs["amount"] == config.monthly_budget_usd
        assert budget.inputs["scope"] == plan.one("azure-native:resources:ResourceGroup").resource_id
        assert budget.inputs["timeGrain"] == "Monthly"
        notifications = budget.inputs["notifications"]
        assert {
            key: (n["threshold"], n["thresholdType"]) for key, n in notifications.items()
        } == BUDGET_THRESHOLDS
        assert all(n["contactGroups"] == [group.resource_id] for n in notifications.values())
        emails = [r["emailAddress"] for r in group.inputs["emailReceivers"]]
        assert emails == list(config.alert_emails)
        assert len(group.inputs["groupShortName"]) <= 12


def test_a_prod_destroy_cannot_delete_data(plans: dict[str, Plan]) -> None:
    """Storage, key vault, container registry (environment images) and the AML registry (promoted models)
    carry CanNotDelete locks, which Azure enforces on every caller; locks bind control-plane deletes only.

    https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/lock-resources
    """
    plan = plans["prod"]
    # The lifecycle handler's own account holds only its code package, which the pipeline republishes.
    stores = [r for r in plan.resources if r.type in DATA_STORES and r.name != "lifecycle-storage-account"]
    # Two storage accounts, the vault, the container registry, the AML registry; the lifecycle audit and inbox.
    assert len(stores) == 5 + (2 if config_of("prod").lifecycle_events_enabled else 0)
    # `pulumi destroy` refuses protected resources, and a resource removed from the program stays in Azure ...
    assert all(r.protect and r.retain_on_delete for r in stores)
    # ... and Azure itself refuses to delete what is locked, whoever asks (portal, CLI, another tool).
    locks = {
        lock.inputs["scope"]: lock.inputs["level"]
        for lock in plan.of_type("azure-native:authorization:ManagementLockByScope")
    }
    assert locks == {r.resource_id: "CanNotDelete" for r in stores}


def test_the_workspace_is_protected_but_not_locked(plans: dict[str, Plan]) -> None:
    """A lock is inherited by everything under its scope, and a CanNotDelete lock also stops the deletion of role
    assignments there: on the workspace it would stop the CD deleting the old online deployment after a
    blue/green release, and compute instances being removed. Microsoft documents the same failure for a lock on
    the group holding a workspace (compute clusters can no longer scale in). The workspace is `protect`ed and
    retained instead, and a portal delete is a soft delete; its data lives in the locked stores.

    https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/lock-resources
    https://learn.microsoft.com/azure/machine-learning/concept-soft-delete
    """
    plan = plans["prod"]
    workspace = plan.one("azure-native:machinelearningservices:Workspace")
    assert workspace.protect and workspace.retain_on_delete
    scopes = [
        lock.inputs["scope"] for lock in plan.of_type("azure-native:authorization:ManagementLockByScope")
    ]
    assert scopes and not [s for s in scopes if s.startswith(workspace.resource_id)]


def test_deleted_data_stays_recoverable(plans: dict[str, Plan]) -> None:
    plan = plans["prod"]
    vault = plan.one("azure-native:keyvault:Vault").inputs["properties"]
    assert vault["enablePurgeProtection"] is True
    for service in plan.of_type("azure-native:storage:BlobServiceProperties"):
        assert service.inputs["deleteRetentionPolicy"]["enabled"] is True
        assert service.inputs["containerDeleteRetentionPolicy"]["enabled"] is True


def test_deleted_file_shares_stay_recoverable(plan: Plan) -> None:
    """Every account soft-deletes file shares (Azure ML keeps Studio's notebooks and user files in a share of
    its storage) for softDeleteRetentionDays, within Azure's 1 to 365 days.

    https://learn.microsoft.com/en-us/azure/storage/files/storage-files-enable-soft-delete
    """
    accounts = {r.name.removesuffix("-account") for r in plan.of_type("azure-native:storage:StorageAccount")}
    services = plan.of_type("azure-native:storage:FileServiceProperties")
    assert {s.name.removesuffix("-file-service") for s in services} == accounts
    days = config_of(plan.stack).soft_delete_retention_days
    for service in services:
        assert service.inputs["fileServicesName"] == "default"
        assert service.inputs["shareDeleteRetentionPolicy"] == {"enabled": True, "days": days}
        assert 1 <= days <= 365


def test_no_locks_where_stacks_may_be_torn_down(plans: dict[str, Plan]) -> None:
    for stack in ("dev", "staging"):
        assert plans[stack].of_type("azure-native:authorization:ManagementLockByScope") == []


def test_locks_never_cover_the_resource_group(plans: dict[str, Plan]) -> None:
    group = plans["prod"].one("azure-native:resources:ResourceGroup").resource_id
    scopes = {
        lock.inputs["scope"]
        for lock in plans["prod"].of_type("azure-native:authorization:ManagementLockByScope")
    }
    assert group not in scopes  # a group lock would stop Azure ML deleting old deployments after a release


def test_the_shared_registry_lives_in_prod_and_its_users_can_promote_models(plans: dict[str, Plan]) -> None:
    assert [s for s in STACKS if plans[s].of_type("azure-native:machinelearningservices:Registry")] == [
        "prod"
    ]
    plan = plans["prod"]
    registry = plan.one("azure-native:machinelearningservices:Registry")
    assert registry.inputs["publicNetworkAccess"] == "Disabled"
    assert plan.outputs["amlRegistryName"] == registry.inputs["registryName"]
    user_role = BuiltInRole.AZUREML_REGISTRY_USER.value
    grants = [
        r
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["scope"] == registry.resource_id
    ]
    assert grants
    assert {g.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for g in grants} == {user_role}
    assert {g.name for g in grants} == {"access-workspace-aml-registry"}


def test_the_runner_environments_setting_moved_into_governance_keeps_its_pulumi_identity() -> None:
    """GitHubRunnerJobs used to declare the environment's setting (`github-runner-jobs-diagnostics`, its child). A
    resource whose URN changes is created anew and the old one deleted afterwards; both being the one Azure setting
    (same resource, same name), the delete would remove it. The alias names the old URN's name and parent, so a
    deployed stack updates the setting in place (https://www.pulumi.com/docs/iac/concepts/options/aliases/)."""
    runner_jobs = SimpleNamespace(
        environment_id="/subscriptions/s/resourceGroups/g/providers/Microsoft.App/x"
    )
    targets = ci_diagnostics(None, runner_jobs)  # type: ignore[arg-type]
    assert list(targets) == [RUNNER_JOBS_DIAGNOSTICS]
    target = targets[RUNNER_JOBS_DIAGNOSTICS]
    assert (
        target.resource_id == runner_jobs.environment_id and target.profile == CONTAINER_APPS_ENVIRONMENT_LOGS
    )
    (alias,) = target.aliases
    assert (alias.name, alias.parent) == ("github-runner-jobs-diagnostics", runner_jobs)
    assert LogProfile((), metrics=False) == CONTAINER_APPS_ENVIRONMENT_LOGS
