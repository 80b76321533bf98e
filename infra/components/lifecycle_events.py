"""Lifecycle events: the workspace's Event Grid system topic, filtered subscriptions, and their handler app.

Azure ML publishes model registrations, deployments and run status changes to Event Grid. Four
subscriptions, each filtered by event type and advanced filters, deliver to one Python function on a
Linux Flex Consumption plan. Flex Consumption because it scales to zero (no idle cost in dev), takes its
code package and host storage with a managed identity (no storage keys anywhere), and joins a VNet; Linux
Consumption can do neither of the last two and gets no new features.

Event Grid pushes events to the function's public HTTPS endpoint, authenticated with the function's
system key that Event Grid fetches itself: push delivery cannot target a private endpoint. So the app's
inbound stays public but answers only Event Grid: an access restriction allows the AzureEventGrid service
tag and denies everything else, in every profile.

In the private profile (`network` set) the app is VNet-integrated: its outbound traffic enters a subnet
delegated to Flex Consumption and reaches its storage, the audit store and the stack's vault through
private endpoints; both storage accounts turn public network access off. Its SCM (deploy) endpoint denies
every public caller and answers only through the app's own private endpoint, so code is published from
inside the VNet. Event Grid writes dead letters with the topic's identity from outside any VNet, as a
trusted Azure service, which an account whose public network access is disabled refuses: dead letters
therefore go to a third account whose public endpoint lets only trusted Azure services through (no IP or
VNet rule, default action Deny), readable from the VNet through its private endpoint.

The code package is not uploaded by Pulumi: azure-native's Blob resource writes with storage account
keys (pulumi-azure-native#2015, #3719), which these accounts refuse. The infra pipeline publishes
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
"""The queue-triggered function in functions/lifecycle_events/function_app.py."""
EVENT_QUEUE = "lifecycle-events"
"""Storage queue Event Grid delivers every subscribed event into, one event per message."""
POISON_QUEUE = f"{EVENT_QUEUE}-poison"
"""Where the Functions host moves a message after its last failed attempt (host.json maxDequeueCount)."""
QUEUE_CONNECTION = "LIFECYCLE_QUEUE"
"""Prefix of the identity-based queue connection's app settings (`LIFECYCLE_QUEUE__queueServiceUri`)."""
QUEUE_NAME_SETTING = "LIFECYCLE_QUEUE_NAME"
"""App setting naming the queue; the trigger reads it as `%LIFECYCLE_QUEUE_NAME%`."""
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
    dead_letter_storage_name: str
    """Required. Globally unique name of the account Event Grid dead-letters undeliverable events into."""
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
    network: LifecycleNetwork | None = None
    """Optional. The private profile: VNet integration, no public storage, SCM only through a private endpoint.
    None (the public profile) keeps the storage accounts' and the SCM site's public endpoints."""

    def __post_init__(self) -> None:
        if self.dead_letter_storage_name in {self.function_storage_name, self.audit_storage_name}:
            msg = (
                f"LifecycleEventsArgs.dead_letter_storage_name = {self.dead_letter_storage_name!r}: must be an "
                "account of its own (its public endpoint admits trusted Azure services; the others admit none)"
            )
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class LifecycleNetwork:
    """Where the handler joins the private VNet."""

    subnet_id: pulumi.Input[str]
    """Required. ARM ID of a subnet delegated to Microsoft.App/environments (Flex Consumption VNet integration)."""


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
    dead_letter_storage_id: pulumi.Output[str]
    """ARM ID of the dead-letter account."""
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

        public = args.network is None

        def account(
            key: str, account_name: str, containers: tuple[str, ...], *, trusted_services_only: bool = False
        ) -> SecureStorageAccount:
            return SecureStorageAccount(
                f"{name}-{key}",
                SecureStorageAccountArgs(
                    resource_group_name=args.resource_group_name,
                    location=args.location,
                    account_name=account_name,
                    sku=args.storage_sku,
                    tags=args.tags,
                    public_network_access=public,
                    soft_delete_days=args.soft_delete_days,
                    containers=containers,
                    protect=args.protect,
                    trusted_services_only=trusted_services_only,
                ),
                opts=child,
            )

        host = account("storage", args.function_storage_name, (DEPLOYMENT_CONTAINER,))
        audit = account("audit", args.audit_storage_name, ())
        if not public:
            # Private profile: Event Grid is no client of the VNet; see the module docstring.
            _waive_dead_letter_checks(f"{name}-dead-letters-account")
        dead_letters = account(
            "dead-letters",
            args.dead_letter_storage_name,
            (DEAD_LETTER_CONTAINER,),
            trusted_services_only=not public,
        )
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
            # Event Grid's push delivery needs the public HTTPS endpoint; site_config admits only Event Grid.
            public_network_access="Enabled",
            # Private profile: every outbound call (storage, vault, Entra ID, Azure DevOps, the webhook) enters
            # the VNet through the delegated subnet, where its NSG and the NAT gateway apply.
            virtual_network_subnet_id=args.network.subnet_id if args.network else None,
            outbound_vnet_routing=web.OutboundVnetRoutingArgs(application_traffic=True)
            if args.network
            else None,
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
                **_access_restrictions(scm_public=public),
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
                        resource_id=dead_letters.account_id,
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
        self.dead_letter_storage_id = dead_letters.account_id
        self.dead_letter_container_id = dead_letters.account_id.apply(
            lambda i: f"{i}/blobServices/default/containers/{DEAD_LETTER_CONTAINER}"
        )
        self.audit_storage_id = audit.account_id
        self.audit_storage_name = audit.account_name
        self.register_outputs({"function_app_id": app.id, "topic_id": topic.id})


EVENT_GRID_SERVICE_TAG = "AzureEventGrid"
"""The service tag Event Grid delivers from: the only caller the app's public endpoint admits."""


def _access_restrictions(*, scm_public: bool) -> dict[str, object]:
    """Site config: the app answers only Event Grid; in the private profile its SCM site answers no public caller.

    Access restrictions apply to the public endpoints only: requests through the app's private endpoint (the
    VNet's self-hosted agents publishing code) are not subject to them. In the public profile the SCM site keeps
    its public endpoint (deploys come from Microsoft-hosted agents) and still takes only Entra tokens.
    """
    restrictions: dict[str, object] = {
        "ip_security_restrictions": [
            web.IpSecurityRestrictionArgs(
                name="event-grid",
                description="Event Grid push delivery to the function's Event Grid trigger",
                action="Allow",
                tag="ServiceTag",
                ip_address=EVENT_GRID_SERVICE_TAG,
                priority=100,
            )
        ],
        "ip_security_restrictions_default_action": "Deny",
        # The SCM site never inherits the Event Grid rule: Event Grid has nothing to deploy.
        "scm_ip_security_restrictions_use_main": False,
    }
    if not scm_public:
        restrictions["scm_ip_security_restrictions_default_action"] = "Deny"
    return restrictions


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


def _waive_dead_letter_checks(resource: str) -> None:
    waive_check(
        resource,
        "CKV_AZURE_59",
        "Event Grid dead-letters with the topic's managed identity as a trusted Azure service, from outside "
        "the VNet, which a disabled public endpoint refuses; the endpoint admits only trusted services (default "
        "action Deny, no IP or VNet rules), shared keys are off, and the topic's identity may write one container",
    )


def _waive_app_checks(resource: str) -> None:
    waive_check(
        resource,
        "CKV_AZURE_222",
        "Event Grid push delivery cannot reach a private endpoint; access restrictions admit only the "
        "AzureEventGrid service tag (default Deny), the only function is the Event Grid trigger, which rejects "
        "calls without the system key, and basic-auth publishing is off",
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
