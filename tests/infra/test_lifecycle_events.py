"""Lifecycle events and operational alerts under the mock engine: topic, filters, handler app, roles, alerts."""

from __future__ import annotations

import pytest

from infra.components.egress_firewall import FIREWALL_MANAGEMENT_SUBNET, FIREWALL_SUBNET
from infra.components.lifecycle_events import (
    DEAD_LETTER_CONTAINER,
    EVENT_QUEUE,
    POISON_QUEUE,
    QUEUE_CONNECTION,
    QUEUE_NAME_SETTING,
)
from infra.components.lifecycle_subscriptions import (
    EVENT_TTL_MINUTES,
    MAX_DELIVERY_ATTEMPTS,
    MONITOR_BREACH_TAG,
    MONITOR_BREACH_TEXT,
    QUEUE_MESSAGE_TTL_SECONDS,
)
from infra.errors import InvalidStackConfig
from infra.plan.engine import Plan, mock_principal_id, run_program
from infra.private_profile import CONTAINER_APPS_RUNNERS_SUBNET
from infra.roles import BuiltInRole
from tests.infra.conftest import config_of, stack_config

TOPIC = "azure-native:eventgrid:SystemTopic"
SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
APP = "azure-native:web:WebApp"
QUEUE = "azure-native:storage:Queue"
LIFECYCLE_TYPES = (
    TOPIC,
    SUBSCRIPTION,
    APP,
    QUEUE,
    "azure-native:web:AppServicePlan",
    "azure-native:storage:Table",
)
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


def test_subscriptions_deliver_into_the_queue_retry_and_dead_letter_with_the_topic_identity(
    dev: Plan,
) -> None:
    inbox, queue = dev.named("lifecycle-inbox-account"), dev.named("lifecycle-queue")
    assert queue.inputs["queueName"] == EVENT_QUEUE
    assert queue.inputs["accountName"] == inbox.inputs["accountName"]
    for subscription in dev.of_type(SUBSCRIPTION):
        inputs = subscription.inputs
        assert "destination" not in inputs  # never the key-based form, nor a push endpoint
        delivery = inputs["deliveryWithResourceIdentity"]
        assert delivery["identity"] == {"type": "SystemAssigned"}
        assert delivery["destination"] == {
            "endpointType": "StorageQueue",
            "resourceId": inbox.resource_id,
            "queueName": EVENT_QUEUE,
            "queueMessageTimeToLiveInSeconds": QUEUE_MESSAGE_TTL_SECONDS,
        }
        assert inputs["eventDeliverySchema"] == "EventGridSchema"
        assert inputs["retryPolicy"] == {
            "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
            "eventTimeToLiveInMinutes": EVENT_TTL_MINUTES,
        }
        dead_letter = inputs["deadLetterWithResourceIdentity"]
        assert dead_letter["identity"] == {"type": "SystemAssigned"}
        assert dead_letter["deadLetterDestination"] == {
            "endpointType": "StorageBlob",
            "resourceId": inbox.resource_id,
            "blobContainerName": DEAD_LETTER_CONTAINER,
        }
        assert "deadLetterDestination" not in inputs  # never the key-based form
    # Event Grid writes only into the inbox; the code package's account holds only the package.
    containers = {
        (c.parent, c.inputs["containerName"]) for c in dev.of_type("azure-native:storage:BlobContainer")
    }
    assert ("lifecycle-inbox", DEAD_LETTER_CONTAINER) in containers
    assert ("lifecycle-storage", "app-package") in containers
    assert ("lifecycle-storage", DEAD_LETTER_CONTAINER) not in containers
    assert {(q.inputs["accountName"], q.inputs["queueName"]) for q in dev.of_type(QUEUE)} == {
        (inbox.inputs["accountName"], EVENT_QUEUE),
        (inbox.inputs["accountName"], POISON_QUEUE),
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_subscriptions_wait_for_the_queue_and_the_topic_identitys_roles(
    stack: str, plans: dict[str, Plan]
) -> None:
    """Event Grid dead-letters an event the queue answers 403 for: the roles must exist before delivery starts."""
    plan = plans[stack]
    topic = mock_principal_id(plan.one(TOPIC).resource_id)
    topic_grants = {
        r.name
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == topic
    }
    assert topic_grants == {"access-lifecycle-queue-send", "access-lifecycle-dead-letters"}
    subscriptions = plan.of_type(SUBSCRIPTION)
    assert len(subscriptions) == 4
    for subscription in subscriptions:
        assert topic_grants | {"lifecycle-queue", "lifecycle-topic"} <= set(subscription.dependencies), (
            subscription.name
        )
    # The queue is Pulumi's own resource, so it exists before any subscription: nothing waits for a code publish.
    order = [r.name for r in plan.resources]
    assert all(order.index("lifecycle-queue") < order.index(s.name) for s in subscriptions)


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


def test_the_function_storage_audit_store_and_inbox_accept_no_keys(dev: Plan) -> None:
    for name in ("lifecycle-storage-account", "lifecycle-audit-account", "lifecycle-inbox-account"):
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
    inbox = dev.named("lifecycle-inbox-account").inputs["accountName"]
    assert settings["AzureWebJobsStorage__accountName"] == host["accountName"]
    assert "AzureWebJobsStorage" not in settings  # no connection string, so no account key
    # The trigger's connection is identity-based too: a service URI, never a connection string.
    assert settings[f"{QUEUE_CONNECTION}__queueServiceUri"] == f"https://{inbox}.queue.core.windows.net"
    assert QUEUE_CONNECTION not in settings
    assert settings[QUEUE_NAME_SETTING] == EVENT_QUEUE
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


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_handler_and_topic_get_exactly_their_roles_on_single_resources(
    stack: str, plans: dict[str, Plan]
) -> None:
    """Public (dev) and private (prod) profiles grant the same roles: VNet integration adds none."""
    plan = plans[stack]
    app, topic = mock_principal_id(plan.one(APP).resource_id), mock_principal_id(plan.one(TOPIC).resource_id)
    host = plan.named("lifecycle-storage-account").resource_id
    inbox = plan.named("lifecycle-inbox-account").resource_id
    queue, poison = (
        plan.named("lifecycle-queue").resource_id,
        plan.named("lifecycle-poison-queue").resource_id,
    )
    assert queue == f"{inbox}/queueServices/default/queues/{EVENT_QUEUE}"
    assert poison == f"{inbox}/queueServices/default/queues/{POISON_QUEUE}"
    expected = {
        (app, BuiltInRole.STORAGE_BLOB_DATA_OWNER, host),
        (app, BuiltInRole.STORAGE_TABLE_DATA_CONTRIBUTOR, plan.named("lifecycle-audit-account").resource_id),
        (app, BuiltInRole.KEY_VAULT_SECRETS_USER, plan.one("azure-native:keyvault:Vault").resource_id),
        (
            app,
            BuiltInRole.MONITORING_METRICS_PUBLISHER,
            plan.one("azure-native:applicationinsights:Component").resource_id,
        ),
        # The trigger reads and deletes messages of its queue, and only the host's poison queue is writable.
        (app, BuiltInRole.STORAGE_QUEUE_DATA_READER, queue),
        (app, BuiltInRole.STORAGE_QUEUE_DATA_MESSAGE_PROCESSOR, queue),
        (app, BuiltInRole.STORAGE_QUEUE_DATA_CONTRIBUTOR, poison),
        # Event Grid may only add messages to the queue and write dead letters into one container.
        (topic, BuiltInRole.STORAGE_QUEUE_DATA_MESSAGE_SENDER, queue),
        (
            topic,
            BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR,
            f"{inbox}/blobServices/default/containers/{DEAD_LETTER_CONTAINER}",
        ),
    }
    actual = {
        (
            r.inputs["principalId"],
            BuiltInRole(r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]),
            r.inputs["scope"],
        )
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] in {app, topic}
    }
    assert actual == expected
    assert not any(a[1] is BuiltInRole.AZUREML_DATA_SCIENTIST for a in actual)  # it never reads the workspace


def test_alerts_cover_compute_and_endpoints_and_notify_the_stack_action_group(dev: Plan) -> None:
    group = dev.one("azure-native:monitor:ActionGroup").resource_id
    metric = {a.name: a for a in dev.of_type("azure-native:monitor:MetricAlert")}
    assert set(metric) == {
        "alerts-quota",
        "alerts-unusable-nodes",
        "alerts-failed-runs",
        "alerts-lifecycle-inbox",
    }
    workspace = dev.one("azure-native:machinelearningservices:Workspace").resource_id
    names = set()
    for key, alert in metric.items():
        assert alert.inputs["actions"] == [{"actionGroupId": group}]
        assert alert.inputs["ruleName"] == f"alert-mlops-dev-{key.removeprefix('alerts-')}"
        if key == "alerts-lifecycle-inbox":
            continue
        assert alert.inputs["scopes"] == [workspace]
        (criterion,) = alert.inputs["criteria"]["allOf"]
        assert criterion["metricNamespace"] == "Microsoft.MachineLearningServices/workspaces"
        names.add(criterion["metricName"])
    assert names == {"Quota Utilization Percentage", "Unusable Nodes", "Failed Runs"}
    # The handler's inbox: hours of messages in its queues (a handler down, or poisoned events) alert too.
    inbox = metric["alerts-lifecycle-inbox"].inputs
    assert inbox["scopes"] == [dev.named("lifecycle-inbox-account").resource_id + "/queueServices/default"]
    (criterion,) = inbox["criteria"]["allOf"]
    assert (criterion["metricNamespace"], criterion["metricName"]) == (
        "Microsoft.Storage/storageAccounts/queueServices",
        "QueueMessageCount",
    )
    assert (criterion["timeAggregation"], criterion["operator"], criterion["threshold"]) == (
        "Minimum",
        "GreaterThan",
        0,
    )
    assert (inbox["windowSize"], inbox["evaluationFrequency"]) == ("PT6H", "PT1H")
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


@pytest.fixture(scope="module")
def staging_without() -> Plan:
    return run_program("staging", stack_config("staging", lifecycleEventsEnabled="false"))


def test_nothing_of_it_exists_where_the_feature_is_off(staging_without: Plan, plans: dict[str, Plan]) -> None:
    plan = staging_without
    assert [r.name for r in plan.resources if r.type in LIFECYCLE_TYPES] == []
    assert [r.name for r in plan.resources if r.name.startswith("lifecycle")] == []
    assert plan.outputs["lifecycleFunctionAppName"] == ""
    # Neither its subnet nor its DNS zones: the private profile is as before.
    subnets = {s["name"] for s in plan.one("azure-native:network:VirtualNetwork").inputs["subnets"]}
    # agents: tests/infra/test_agent_pool.py; their egress firewall's: tests/infra/test_agent_egress.py; the GitHub
    # runner jobs': tests/infra/test_github_runner_jobs.py
    runner_jobs = {CONTAINER_APPS_RUNNERS_SUBNET} if config_of("staging").github_container_apps else set()
    base = {"private-endpoints", "compute", "agents", FIREWALL_SUBNET, FIREWALL_MANAGEMENT_SUBNET}
    assert subnets == base | runner_jobs
    zones = {z.inputs["privateZoneName"] for z in plan.of_type("azure-native:privatedns:PrivateZone")}
    assert not zones & {
        "privatelink.queue.core.windows.net",
        "privatelink.table.core.windows.net",
        "privatelink.azurewebsites.net",
    }
    # Every committed stack has the feature on.
    for stack, committed in plans.items():
        assert committed.outputs["lifecycleFunctionAppName"].startswith("func-"), stack
    # prod has an action group (alertEmails), so it has the alerts; staging has none, so no alerts.
    assert len(plans["prod"].of_type("azure-native:monitor:MetricAlert")) == 4
    assert plans["staging"].of_type("azure-native:monitor:MetricAlert") == []
    assert plans["staging"].of_type("azure-native:monitor:ScheduledQueryRule") == []


def test_the_feature_refuses_a_vnet_without_room_and_half_set_retraining() -> None:
    cases = {
        "vnetAddressSpace = '10.40.0.0/22': must be a /21 or larger when lifecycleEventsEnabled": stack_config(
            "staging", vnetAddressSpace="10.40.0.0/22"
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


def test_without_lifecycle_events_the_alerts_watch_no_inbox() -> None:
    plan = run_program("dev", stack_config("dev", lifecycleEventsEnabled="false"))
    alerts = {a.name for a in plan.of_type("azure-native:monitor:MetricAlert")}
    assert alerts == {"alerts-quota", "alerts-unusable-nodes", "alerts-failed-runs"}
