"""Lifecycle events: the workspace's Event Grid system topic, filtered subscriptions, and their handler app.

Azure ML publishes model registrations, deployments and run status changes to Event Grid. Four
subscriptions, each filtered by event type and advanced filters, deliver to one Python function on a
Linux Flex Consumption plan. Flex Consumption because it scales to zero (no idle cost in dev), takes its
code package and host storage with a managed identity (no storage keys anywhere), and can join a VNet
for the private profile; Linux Consumption can do neither of the last two and gets no new features.

Event Grid pushes events to the function's public HTTPS endpoint, authenticated with the function's
system key that Event Grid fetches itself: push delivery cannot target a private endpoint. What the
function reaches (its storage, the audit store, the key vault) is Entra-only but reachable publicly, so
the stack config allows the feature with the public network profile only, until the app gets VNet
integration and those resources private endpoints.

The code package is not uploaded by Pulumi: azure-native's Blob resource writes with storage account
keys (pulumi-azure-native#2015, #3719), which these accounts refuse. The deployer publishes
`functions/lifecycle_events` after `pulumi up` with its Entra identity (one deploy, remote build), as
docs/lifecycle-events.md shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import eventgrid, storage, web

from infra.components.storage import SecureStorageAccount, SecureStorageAccountArgs
from infra.policy_waivers import waive_check

FUNCTION_NAME = "on_lifecycle_event"
"""The Event Grid-triggered function in functions/lifecycle_events/function_app.py."""
DEPLOYMENT_CONTAINER = "app-package"
"""Blob container the Flex Consumption plan loads the code package from."""
DEAD_LETTER_CONTAINER = "dead-letters"
"""Blob container for events Event Grid could not deliver within the retry policy."""
AUDIT_TABLE = "lifecycleevents"
"""Table of the audit store: one entity per accepted event, keyed by event ID."""
TOPIC_TYPE = "Microsoft.MachineLearningServices.Workspaces"

RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
MONITOR_BREACH_TAG = "data.RunTags.azureml_modelmonitor_threshold_breached"
MONITOR_BREACH_TEXT = "has failed due to one or more features violating metric thresholds"

SUBSCRIPTIONS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str, tuple[str, ...]], ...]]] = {
    "model-registered": (("Microsoft.MachineLearningServices.ModelRegistered",), ()),
    "model-deployed": (("Microsoft.MachineLearningServices.ModelDeployed",), ()),
    # Azure ML raises RunStatusChanged only for failures today (how-to-use-event-grid); the filter keeps
    # the subscription right if Azure ML starts publishing every transition. String matching is
    # case-insensitive in Event Grid, and the documented payload says "failed".
    "run-failed": ((RUN_STATUS_CHANGED,), (("StringIn", "data.RunStatus", ("Failed", "Canceled")),)),
    # Model monitoring (v2) has no event type of its own: a signal whose metric breaches its threshold fails
    # the monitoring run and tags it azureml_modelmonitor_threshold_breached with "The signal '<name>' has
    # failed due to one or more features violating metric thresholds ...". Microsoft documents exactly this
    # filter, and warns that DatasetDriftDetected belongs to the retired data drift v1 monitors:
    # https://learn.microsoft.com/azure/machine-learning/how-to-monitor-model-performance#integrate-azure-machine-learning-model-monitoring-with-event-grid
    # A breach also matches run-failed: the handler decides by content, once per event ID, so the second
    # delivery is recognised as a duplicate.
    "monitor-breach": (
        (RUN_STATUS_CHANGED,),
        (("StringContains", MONITOR_BREACH_TAG, (MONITOR_BREACH_TEXT,)),),
    ),
}
"""Subscription key -> (included event types, advanced filters as (operator, key, values))."""

MAX_DELIVERY_ATTEMPTS = 10
EVENT_TTL_MINUTES = 1440
"""Event Grid retries with back-off for a day, then dead-letters: a handler outage loses nothing."""


@dataclass(frozen=True, kw_only=True)
class LifecycleEventsArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of every resource."""
    location: str
    """Required. Azure region (the workspace's)."""
    workspace_id: pulumi.Input[str]
    """Required. ARM ID of the Azure ML workspace: the system topic's source."""
    topic_name: str
    """Required. Name of the Event Grid system topic."""
    plan_name: str
    """Required. Name of the Flex Consumption plan."""
    function_app_name: str
    """Required. Globally unique name of the function app."""
    function_storage_name: str
    """Required. Globally unique name of the function's own storage account."""
    audit_storage_name: str
    """Required. Globally unique name of the audit store's storage account."""
    key_vault_name: pulumi.Input[str]
    """Required. The stack's vault: the notification webhook's secret is read from it by reference."""
    webhook_secret_name: str
    """Required. Name of the vault secret holding the notification webhook URL."""
    application_insights_connection_string: pulumi.Input[str]
    """Required. Connection string of the stack's Application Insights (not a secret: ingestion only, and
    the function authenticates its telemetry with Entra ID)."""
    storage_sku: str
    """Required. Replication SKU of both storage accounts."""
    soft_delete_days: int
    """Required. Days that deleted blobs (dead letters, packages) stay recoverable."""
    tags: dict[str, str]
    """Required. Tags for every resource."""
    devops: tuple[str, str, int] | None = None
    """Optional. (organization, project, pipeline ID) of the retraining pipeline; None queues nothing."""
    protect: bool = False
    """Optional. Protect both accounts (audit records, dead-lettered events) and the audit table from
    `pulumi destroy`, and retain them when they leave the stack."""
    extra_settings: dict[str, str] = field(default_factory=dict)
    """Optional. More app settings (never secrets: use Key Vault references)."""


class LifecycleEvents(pulumi.ComponentResource):
    """The workspace's event topic and subscriptions, and the identity-only function app that handles them."""

    topic_principal_id: pulumi.Output[str]
    """Object ID of the system topic's identity: it writes dead letters."""
    function_principal_id: pulumi.Output[str]
    """Object ID of the function app's system-assigned identity."""
    function_app_id: pulumi.Output[str]
    """ARM ID of the function app."""
    function_app_name: pulumi.Output[str]
    """Name of the function app: where the pipeline publishes the handler's code."""
    function_storage_id: pulumi.Output[str]
    """ARM ID of the function's own storage account."""
    dead_letter_container_id: pulumi.Output[str]
    """ARM ID of the dead-letter container: the topic identity's only grant."""
    audit_storage_id: pulumi.Output[str]
    """ARM ID of the audit store's account."""
    audit_storage_name: pulumi.Output[str]
    """Name of the audit store's account."""

    def __init__(
        self, name: str, args: LifecycleEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:lifecycle:LifecycleEvents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def account(key: str, account_name: str, containers: tuple[str, ...]) -> SecureStorageAccount:
            return SecureStorageAccount(
                f"{name}-{key}",
                SecureStorageAccountArgs(
                    resource_group_name=args.resource_group_name,
                    location=args.location,
                    account_name=account_name,
                    sku=args.storage_sku,
                    tags=args.tags,
                    public_network_access=True,
                    soft_delete_days=args.soft_delete_days,
                    containers=containers,
                    protect=args.protect,
                ),
                opts=child,
            )

        host = account("storage", args.function_storage_name, (DEPLOYMENT_CONTAINER, DEAD_LETTER_CONTAINER))
        audit = account("audit", args.audit_storage_name, ())
        # Table entities have no soft delete: the audit trail's tamper evidence is the table service's own
        # diagnostic log (every write and delete, with the caller), which governance sends to Log Analytics.
        table = storage.Table(
            f"{name}-audit-table",
            account_name=audit.account_name,
            resource_group_name=args.resource_group_name,
            table_name=AUDIT_TABLE,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )

        _waive_plan_checks(f"{name}-plan")
        plan = web.AppServicePlan(
            f"{name}-plan",
            name=args.plan_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="functionapp",
            reserved=True,  # Linux
            sku=web.SkuDescriptionArgs(name="FC1", tier="FlexConsumption"),
            tags=args.tags,
            opts=child,
        )
        app_logical = f"{name}-app"
        _waive_app_checks(app_logical)
        app = web.WebApp(
            app_logical,
            name=args.function_app_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="functionapp,linux",
            server_farm_id=plan.id,
            identity=web.ManagedServiceIdentityArgs(type="SystemAssigned"),
            https_only=True,
            client_cert_enabled=False,
            # Event Grid's push delivery needs the public HTTPS endpoint.
            public_network_access="Enabled",
            function_app_config=web.FunctionAppConfigArgs(
                deployment=web.FunctionsDeploymentArgs(
                    storage=web.FunctionsDeploymentStorageArgs(
                        type="blobContainer",
                        value=pulumi.Output.concat(
                            "https://", host.account_name, ".blob.core.windows.net/", DEPLOYMENT_CONTAINER
                        ),
                        authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                            type="SystemAssignedIdentity"
                        ),
                    )
                ),
                runtime=web.FunctionsRuntimeArgs(name="python", version="3.11"),
                # Lifecycle events arrive a few per hour: a handful of small instances is plenty, and the cap
                # bounds what a storm of redeliveries can cost.
                scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
                    maximum_instance_count=40, instance_memory_mb=2048
                ),
            ),
            site_config=web.SiteConfigArgs(
                min_tls_version="1.2",
                scm_min_tls_version="1.2",
                ftps_state="Disabled",
                http20_enabled=True,
                app_settings=[
                    web.NameValuePairArgs(name=key, value=value)
                    for key, value in _app_settings(args, host, audit).items()
                ],
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[table]),
        )
        # Deployments use the deployer's Entra token; basic-auth publishing credentials stay off.
        for kind, policy in (("ftp", web.WebAppFtpAllowed), ("scm", web.WebAppScmAllowed)):
            policy(
                f"{name}-{kind}-basic-auth",
                name=app.name,
                resource_group_name=args.resource_group_name,
                allow=False,
                opts=child,
            )

        topic = eventgrid.SystemTopic(
            f"{name}-topic",
            system_topic_name=args.topic_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            source=args.workspace_id,
            topic_type=TOPIC_TYPE,
            identity=eventgrid.IdentityInfoArgs(type="SystemAssigned"),
            tags=args.tags,
            opts=child,
        )
        for key, (event_types, filters) in SUBSCRIPTIONS.items():
            eventgrid.SystemTopicEventSubscription(
                f"{name}-{key}",
                event_subscription_name=key,
                system_topic_name=topic.name,
                resource_group_name=args.resource_group_name,
                destination=eventgrid.AzureFunctionEventSubscriptionDestinationArgs(
                    endpoint_type="AzureFunction",
                    resource_id=app.id.apply(lambda i: f"{i}/functions/{FUNCTION_NAME}"),
                    max_events_per_batch=1,
                    preferred_batch_size_in_kilobytes=64,
                ),
                event_delivery_schema="EventGridSchema",
                filter=eventgrid.EventSubscriptionFilterArgs(
                    included_event_types=list(event_types),
                    advanced_filters=[_advanced_filter(*f) for f in filters] or None,
                ),
                retry_policy=eventgrid.RetryPolicyArgs(
                    max_delivery_attempts=MAX_DELIVERY_ATTEMPTS,
                    event_time_to_live_in_minutes=EVENT_TTL_MINUTES,
                ),
                # The topic's own identity writes dead letters: the accounts accept no keys.
                dead_letter_with_resource_identity=eventgrid.DeadLetterWithResourceIdentityArgs(
                    identity=eventgrid.EventSubscriptionIdentityArgs(type="SystemAssigned"),
                    dead_letter_destination=eventgrid.StorageBlobDeadLetterDestinationArgs(
                        endpoint_type="StorageBlob",
                        resource_id=host.account_id,
                        blob_container_name=DEAD_LETTER_CONTAINER,
                    ),
                ),
                opts=child,
            )

        self.topic_principal_id = topic.identity.apply(lambda i: i.principal_id if i else "")  # type: ignore[union-attr]
        self.function_principal_id = app.identity.apply(lambda i: i.principal_id if i else "")  # type: ignore[union-attr]
        self.function_app_id = app.id
        self.function_app_name = app.name
        self.function_storage_id = host.account_id
        self.dead_letter_container_id = host.account_id.apply(
            lambda i: f"{i}/blobServices/default/containers/{DEAD_LETTER_CONTAINER}"
        )
        self.audit_storage_id = audit.account_id
        self.audit_storage_name = audit.account_name
        self.register_outputs({"function_app_id": app.id, "topic_id": topic.id})


def _advanced_filter(operator: str, key: str, values: tuple[str, ...]) -> pulumi.Input:
    builders = {
        "StringIn": eventgrid.StringInAdvancedFilterArgs,
        "StringContains": eventgrid.StringContainsAdvancedFilterArgs,
    }
    return builders[operator](operator_type=operator, key=key, values=list(values))


def _app_settings(
    args: LifecycleEventsArgs, host: SecureStorageAccount, audit: SecureStorageAccount
) -> dict[str, pulumi.Input[str]]:
    """The handler's settings: names and endpoints only; the one secret is a Key Vault reference."""
    settings: dict[str, pulumi.Input[str]] = {
        # Identity-based host storage: no connection string, so no account key.
        "AzureWebJobsStorage__accountName": host.account_name,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": args.application_insights_connection_string,
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD",
        "AUDIT_TABLE_ENDPOINT": pulumi.Output.concat(
            "https://", audit.account_name, ".table.core.windows.net"
        ),
        "AUDIT_TABLE_NAME": AUDIT_TABLE,
        "WORKSPACE_RESOURCE_ID": args.workspace_id,
        "NOTIFICATION_WEBHOOK_URL": pulumi.Output.concat(
            "@Microsoft.KeyVault(VaultName=",
            args.key_vault_name,
            ";SecretName=",
            args.webhook_secret_name,
            ")",
        ),
        "LIFECYCLE_DRY_RUN": "false",
    }
    if args.devops is not None:
        organization, project, pipeline_id = args.devops
        settings |= {
            "AZURE_DEVOPS_ORGANIZATION": organization,
            "AZURE_DEVOPS_PROJECT": project,
            "RETRAIN_PIPELINE_ID": str(pipeline_id),
        }
    return settings | args.extra_settings


def _waive_plan_checks(resource: str) -> None:
    waive_check(
        resource,
        "CKV_AZURE_225",
        "a Flex Consumption plan without always-ready instances has no instance to spread over zones; Event "
        "Grid retries each event for a day, so a zonal outage delays lifecycle events and loses none",
    )


def _waive_app_checks(resource: str) -> None:
    waive_check(
        resource,
        "CKV_AZURE_222",
        "Event Grid push delivery cannot reach a private endpoint; the only function is the Event Grid trigger, "
        "which rejects calls without the system key, and basic-auth publishing is off",
    )
    waive_check(
        resource,
        "CKV_AZURE_212",
        "scale to zero is the point of Flex Consumption here: no idle cost, and Event Grid retries deliveries "
        "while an instance starts, so a minimum instance count would only add cost",
    )
    waive_check(
        resource,
        "CKV_AZURE_213",
        "the app serves no HTTP route to probe: its one function is an Event Grid trigger whose failures Event "
        "Grid itself retries and dead-letters",
    )
    waive_check(
        resource,
        "CKV_AZURE_17",
        "Event Grid cannot present a client certificate; the trigger endpoint is key-authenticated and HTTPS "
        "only, and the app exposes no other function",
    )
