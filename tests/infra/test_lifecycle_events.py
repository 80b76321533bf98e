"""Lifecycle events and operational alerts under the mock engine: topic, filters, handler app, roles, alerts."""

from __future__ import annotations

import pytest

from infra.components.lifecycle_events import (
    DEAD_LETTER_CONTAINER,
    EVENT_TTL_MINUTES,
    FUNCTION_NAME,
    MAX_DELIVERY_ATTEMPTS,
    MONITOR_BREACH_TAG,
    MONITOR_BREACH_TEXT,
)
from infra.errors import InvalidStackConfig
from infra.plan.engine import Plan, run_program
from infra.roles import BuiltInRole
from tests.infra.conftest import stack_config

TOPIC = "azure-native:eventgrid:SystemTopic"
SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
APP = "azure-native:web:WebApp"
LIFECYCLE_TYPES = (TOPIC, SUBSCRIPTION, APP, "azure-native:web:AppServicePlan", "azure-native:storage:Table")
DEVOPS = {
    "retrainPipelineId": "42",
    "azureDevOpsOrganization": "contoso",
    "azureDevOpsProject": "ML Platform",
}


@pytest.fixture(scope="module")
def dev(plans: dict[str, Plan]) -> Plan:
    return plans["dev"]


@pytest.fixture(scope="module")
def with_devops() -> Plan:
    return run_program("dev", stack_config("dev", **DEVOPS))


def _settings(app) -> dict[str, str]:
    return {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}


def test_the_system_topic_listens_to_the_workspace(dev: Plan) -> None:
    topic = dev.one(TOPIC)
    assert topic.inputs["source"] == dev.one("azure-native:machinelearningservices:Workspace").resource_id
    assert topic.inputs["topicType"] == "Microsoft.MachineLearningServices.Workspaces"
    assert topic.inputs["identity"]["type"] == "SystemAssigned"


def test_each_subscription_filters_its_event_types_and_data(dev: Plan) -> None:
    filters = {
        s.inputs["eventSubscriptionName"]: {
            k: v for k, v in s.inputs["filter"].items() if k != "isSubjectCaseSensitive"
        }
        for s in dev.of_type(SUBSCRIPTION)
    }
    assert set(filters) == {"model-registered", "model-deployed", "run-failed", "monitor-breach"}
    assert filters["model-registered"] == {
        "includedEventTypes": ["Microsoft.MachineLearningServices.ModelRegistered"]
    }
    assert filters["model-deployed"] == {
        "includedEventTypes": ["Microsoft.MachineLearningServices.ModelDeployed"]
    }
    run_status = ["Microsoft.MachineLearningServices.RunStatusChanged"]
    assert filters["run-failed"] == {
        "includedEventTypes": run_status,
        "advancedFilters": [
            {"operatorType": "StringIn", "key": "data.RunStatus", "values": ["Failed", "Canceled"]}
        ],
    }
    assert filters["monitor-breach"] == {
        "includedEventTypes": run_status,
        "advancedFilters": [
            {"operatorType": "StringContains", "key": MONITOR_BREACH_TAG, "values": [MONITOR_BREACH_TEXT]}
        ],
    }
    assert MONITOR_BREACH_TAG == "data.RunTags.azureml_modelmonitor_threshold_breached"


def test_subscriptions_deliver_to_the_function_retry_and_dead_letter_with_the_topic_identity(
    dev: Plan,
) -> None:
    app, host = dev.one(APP), dev.named("lifecycle-storage-account")
    for subscription in dev.of_type(SUBSCRIPTION):
        inputs = subscription.inputs
        assert inputs["destination"]["endpointType"] == "AzureFunction"
        assert inputs["destination"]["resourceId"] == f"{app.resource_id}/functions/{FUNCTION_NAME}"
        assert inputs["destination"]["maxEventsPerBatch"] == 1
        assert inputs["retryPolicy"] == {
            "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
            "eventTimeToLiveInMinutes": EVENT_TTL_MINUTES,
        }
        dead_letter = inputs["deadLetterWithResourceIdentity"]
        assert dead_letter["identity"] == {"type": "SystemAssigned"}
        assert dead_letter["deadLetterDestination"] == {
            "endpointType": "StorageBlob",
            "resourceId": host.resource_id,
            "blobContainerName": DEAD_LETTER_CONTAINER,
        }
        assert "deadLetterDestination" not in inputs  # never the key-based form


def test_the_function_app_is_flex_consumption_https_only_and_identity_based(dev: Plan) -> None:
    plan, app = dev.one("azure-native:web:AppServicePlan"), dev.one(APP)
    assert plan.inputs["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan.inputs["reserved"] is True
    inputs = app.inputs
    assert inputs["serverFarmId"] == plan.resource_id
    assert inputs["kind"] == "functionapp,linux"
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["httpsOnly"] is True
    site = inputs["siteConfig"]
    assert (site["minTlsVersion"], site["scmMinTlsVersion"], site["ftpsState"]) == ("1.2", "1.2", "Disabled")
    config = inputs["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    host = dev.named("lifecycle-storage-account").inputs["accountName"]
    assert config["deployment"]["storage"] == {
        "type": "blobContainer",
        "value": f"https://{host}.blob.core.windows.net/app-package",
        "authentication": {"type": "SystemAssignedIdentity"},
    }
    assert "alwaysReady" not in config["scaleAndConcurrency"]  # nothing runs, nothing bills, while idle
    policies = {
        r.type: r.inputs["allow"]
        for r in dev.resources
        if r.type.startswith("azure-native:web:WebApp") and r.type != APP
    }
    assert policies == {
        "azure-native:web:WebAppFtpAllowed": False,
        "azure-native:web:WebAppScmAllowed": False,
    }


def test_the_function_storage_and_audit_store_accept_no_keys(dev: Plan) -> None:
    for name in ("lifecycle-storage-account", "lifecycle-audit-account"):
        account = dev.named(name).inputs
        assert account["allowSharedKeyAccess"] is False
        assert account["minimumTlsVersion"] == "TLS1_2"
    table = dev.one("azure-native:storage:Table")
    assert table.inputs["tableName"] == "lifecycleevents"
    assert table.inputs["accountName"] == dev.named("lifecycle-audit-account").inputs["accountName"]
    diagnostics = {d.inputs["resourceUri"] for d in dev.of_type("azure-native:monitor:DiagnosticSetting")}
    assert dev.named("lifecycle-audit-account").resource_id + "/tableServices/default" in diagnostics


def test_app_settings_hold_names_endpoints_and_one_key_vault_reference_only(dev: Plan) -> None:
    settings = _settings(dev.one(APP))
    audit, host = dev.named("lifecycle-audit-account").inputs, dev.named("lifecycle-storage-account").inputs
    vault = dev.one("azure-native:keyvault:Vault").inputs["vaultName"]
    assert settings["AzureWebJobsStorage__accountName"] == host["accountName"]
    assert "AzureWebJobsStorage" not in settings  # no connection string, so no account key
    assert settings["AUDIT_TABLE_ENDPOINT"] == f"https://{audit['accountName']}.table.core.windows.net"
    assert (
        settings["WORKSPACE_RESOURCE_ID"]
        == dev.one("azure-native:machinelearningservices:Workspace").resource_id
    )
    assert settings["NOTIFICATION_WEBHOOK_URL"] == (
        f"@Microsoft.KeyVault(VaultName={vault};SecretName=lifecycle-notification-webhook)"
    )
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD"
    assert settings["LIFECYCLE_DRY_RUN"] == "false"
    assert not {"RETRAIN_PIPELINE_ID", "AZURE_DEVOPS_ORGANIZATION"} & set(settings)
    for name, value in settings.items():
        lowered = value.lower()
        assert "accountkey=" not in lowered and "sig=" not in lowered and "password" not in lowered, name


def test_retraining_settings_come_from_config_as_names(with_devops: Plan) -> None:
    settings = _settings(with_devops.one(APP))
    assert (
        settings["AZURE_DEVOPS_ORGANIZATION"],
        settings["AZURE_DEVOPS_PROJECT"],
        settings["RETRAIN_PIPELINE_ID"],
    ) == (
        "contoso",
        "ML Platform",
        "42",
    )


def test_the_handler_and_topic_get_exactly_their_roles_on_single_resources(dev: Plan) -> None:
    app, topic = dev.one(APP).resource_id, dev.one(TOPIC).resource_id
    from infra.plan.engine import mock_principal_id

    host = dev.named("lifecycle-storage-account").resource_id
    expected = {
        (mock_principal_id(app), BuiltInRole.STORAGE_BLOB_DATA_OWNER, host),
        (
            mock_principal_id(app),
            BuiltInRole.STORAGE_TABLE_DATA_CONTRIBUTOR,
            dev.named("lifecycle-audit-account").resource_id,
        ),
        (
            mock_principal_id(app),
            BuiltInRole.KEY_VAULT_SECRETS_USER,
            dev.one("azure-native:keyvault:Vault").resource_id,
        ),
        (
            mock_principal_id(app),
            BuiltInRole.MONITORING_METRICS_PUBLISHER,
            dev.one("azure-native:applicationinsights:Component").resource_id,
        ),
        (
            mock_principal_id(topic),
            BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
            f"{host}/blobServices/default/containers/dead-letters",
        ),
    }
    principals = {mock_principal_id(app), mock_principal_id(topic)}
    actual = {
        (
            r.inputs["principalId"],
            BuiltInRole(r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]),
            r.inputs["scope"],
        )
        for r in dev.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] in principals
    }
    assert actual == expected
    assert not any(a[1] is BuiltInRole.AZUREML_DATA_SCIENTIST for a in actual)  # it never reads the workspace


def test_alerts_cover_compute_and_endpoints_and_notify_the_stack_action_group(dev: Plan) -> None:
    group = dev.one("azure-native:monitor:ActionGroup").resource_id
    metric = {
        a.inputs["ruleName"].rsplit("-", 1)[0]: a for a in dev.of_type("azure-native:monitor:MetricAlert")
    }
    assert len(metric) == 3
    workspace = dev.one("azure-native:machinelearningservices:Workspace").resource_id
    names = set()
    for alert in metric.values():
        assert alert.inputs["scopes"] == [workspace]
        assert alert.inputs["actions"] == [{"actionGroupId": group}]
        (criterion,) = alert.inputs["criteria"]["allOf"]
        assert criterion["metricNamespace"] == "Microsoft.MachineLearningServices/workspaces"
        names.add(criterion["metricName"])
    assert names == {"Quota Utilization Percentage", "Unusable Nodes", "Failed Runs"}
    logs = dev.one("azure-native:operationalinsights:Workspace").resource_id
    queries = dev.of_type("azure-native:monitor:ScheduledQueryRule")
    assert len(queries) == 4
    for rule in queries:
        assert rule.inputs["scopes"] == [logs]
        assert rule.inputs["actions"] == {"actionGroups": [group]}
        assert rule.inputs["skipQueryValidation"] is True
        (condition,) = rule.inputs["criteria"]["allOf"]
        assert {d["name"] for d in condition["dimensions"]} == {"EndpointName", "DeploymentName"}
    text = " ".join(r.inputs["criteria"]["allOf"][0]["query"] for r in queries)
    for needle in (
        "AmlOnlineEndpointTrafficLog",
        "TotalDurationMs",
        "ResponseCode",
        "CpuUtilizationPercentage",
        "CpuMemoryUtilizationPercentage",
    ):
        assert needle in text


def test_nothing_of_it_exists_where_the_feature_is_off(plans: dict[str, Plan]) -> None:
    for stack in ("staging", "prod"):
        plan = plans[stack]
        assert [r.name for r in plan.resources if r.type in LIFECYCLE_TYPES] == []
        assert plan.outputs["lifecycleFunctionAppName"] == ""
    # prod has an action group (alertEmails), so it has the alerts; staging has none, so no alerts.
    assert len(plans["prod"].of_type("azure-native:monitor:MetricAlert")) == 3
    assert plans["staging"].of_type("azure-native:monitor:MetricAlert") == []
    assert plans["staging"].of_type("azure-native:monitor:ScheduledQueryRule") == []


def test_the_feature_refuses_the_private_profile_and_half_set_retraining() -> None:
    cases = {
        "lifecycleEventsEnabled = True: needs networkProfile 'public'": stack_config(
            "staging", lifecycleEventsEnabled="true"
        ),
        "azureDevOpsOrganization is unset: retraining needs all of": stack_config(
            "dev", retrainPipelineId="42"
        ),
        "have no effect without lifecycle events": stack_config(
            "dev", lifecycleEventsEnabled="false", **DEVOPS
        ),
    }
    for problem, config in cases.items():
        with pytest.raises(InvalidStackConfig) as raised:
            run_program("dev", config)
        assert problem in str(raised.value)
