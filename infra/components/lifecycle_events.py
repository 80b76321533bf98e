"""Lifecycle events: the workspace's Event Grid system topic, the queue it delivers into, and the handler app.

Azure ML publishes model registrations, deployments and run status changes to Event Grid. The subscriptions
(infra/components/lifecycle_subscriptions.py) deliver each event into a storage queue, with the topic's own
identity, and one queue-triggered Python function takes it from there. A queue, not push delivery to the
function: the queue exists as soon as Pulumi creates it, so the subscriptions validate on the very first
`pulumi up` (an Azure Function destination is only valid once code is published, Azure/bicep#11656); the
function pulls, so the app has no inbound caller at all and no public endpoint in the private profile; and
a message outlives a handler outage by a week, where push delivery gives up after a day.

The handler runs on a Linux Flex Consumption plan: it scales to zero (no idle cost in dev), takes its code
package and host storage with a managed identity (no storage keys anywhere), and joins a VNet; Linux
Consumption can do neither of the last two and gets no new features.

Three accounts, shared keys off: the function's own (host state, code package), the audit store (one table),
and the inbox (the event queue, its poison queue and the dead-letter container). Event Grid writes to the
inbox from outside any VNet, as a trusted Azure service with the topic's system-assigned identity, which an
account whose public network access is disabled refuses. So in the private profile (`network` set) the inbox's
public endpoint admits only trusted Azure services (no IP or VNet rule, default action Deny), the other two
accounts turn public access off, and the app, VNet-integrated, reaches all three and the stack's vault through
private endpoints. Its public network access is off too: code is published through its private endpoint, from
inside the VNet.

The code package is not uploaded by Pulumi: azure-native's Blob resource writes with storage account
keys (pulumi-azure-native#2015, #3719), which these accounts refuse. The infra pipeline publishes
`functions/lifecycle_events` after `pulumi up` with its Entra identity (one deploy, remote build), as
docs/lifecycle-events.md shows; events that arrive before the first publish wait in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import eventgrid, storage, web

from infra.components.storage import SecureStorageAccount, SecureStorageAccountArgs
from infra.policy_waivers import public_profile_reason, waive_check

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
    inbox_storage_name: str
    """Required. Globally unique name of the account Event Grid writes into: the event queue, its poison queue
    and the dead-letter container."""
    key_vault_name: pulumi.Input[str]
    """Required. The stack's vault: the notification webhook's secret is read from it by reference."""
    webhook_secret_name: str
    """Required. Name of the vault secret holding the notification webhook URL."""
    application_insights_connection_string: pulumi.Input[str]
    """Required. Connection string of the stack's Application Insights (not a secret: ingestion only, and
    the function authenticates its telemetry with Entra ID)."""
    storage_sku: str
    """Required. Replication SKU of the storage accounts."""
    soft_delete_days: int
    """Required. Days that deleted blobs (dead letters, packages) stay recoverable."""
    tags: dict[str, str]
    """Required. Tags for every resource."""
    devops: tuple[str, str, int] | None = None
    """Optional. (organization, project, pipeline ID) of the retraining pipeline; None queues nothing."""
    protect: bool = False
    """Optional. Protect the storage accounts (audit records, queued and dead-lettered events), the audit table
    and both queues from `pulumi destroy`, and retain them when they leave the stack."""
    extra_settings: dict[str, str] = field(default_factory=dict)
    """Optional. More app settings (never secrets: use Key Vault references)."""
    network: LifecycleNetwork | None = None
    """Optional. The private profile: VNet integration, no public endpoint on the app or its own storage, an
    inbox that admits only trusted Azure services. None (the public profile) keeps public endpoints."""

    def __post_init__(self) -> None:
        if self.inbox_storage_name in {self.function_storage_name, self.audit_storage_name}:
            msg = (
                f"LifecycleEventsArgs.inbox_storage_name = {self.inbox_storage_name!r}: must be an account of "
                "its own (its public endpoint admits trusted Azure services; the others admit none)"
            )
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class LifecycleNetwork:
    """Where the handler joins the private VNet."""

    subnet_id: pulumi.Input[str]
    """Required. ARM ID of a subnet delegated to Microsoft.App/environments (Flex Consumption VNet integration)."""


class LifecycleEvents(pulumi.ComponentResource):
    """The workspace's event topic, the inbox it delivers into, and the identity-only function app that reads it."""

    topic_name: pulumi.Output[str]
    """Name of the Event Grid system topic: where LifecycleSubscriptions attach."""
    topic_id: pulumi.Output[str]
    """ARM ID of the system topic: target of its diagnostic setting (delivery failures)."""
    topic_principal_id: pulumi.Output[str]
    """Object ID of the system topic's identity: it sends events to the queue and writes dead letters."""
    function_principal_id: pulumi.Output[str]
    """Object ID of the function app's system-assigned identity."""
    function_app_id: pulumi.Output[str]
    """ARM ID of the function app."""
    function_app_name: pulumi.Output[str]
    """Name of the function app: where the pipeline publishes the handler's code."""
    function_storage_id: pulumi.Output[str]
    """ARM ID of the function's own storage account."""
    inbox_storage_id: pulumi.Output[str]
    """ARM ID of the inbox account: event queue, poison queue, dead letters."""
    event_queue_id: pulumi.Output[str]
    """ARM ID of the queue Event Grid delivers into and the function reads."""
    event_queue_name: pulumi.Output[str]
    """Name of that queue (EVENT_QUEUE), known once it exists."""
    poison_queue_id: pulumi.Output[str]
    """ARM ID of the queue the Functions host moves repeatedly failing messages to."""
    dead_letter_container_id: pulumi.Output[str]
    """ARM ID of the container Event Grid dead-letters into when the queue cannot take an event."""
    audit_storage_id: pulumi.Output[str]
    """ARM ID of the audit store's account."""
    audit_storage_name: pulumi.Output[str]
    """Name of the audit store's account."""

    def __init__(
        self, name: str, args: LifecycleEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:lifecycle:LifecycleEvents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)

        public = args.network is None

        def account(
            key: str,
            account_name: str,
            containers: tuple[str, ...],
            *,
            trusted_services_only: bool = False,
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
            _waive_inbox_checks(f"{name}-inbox-account")
        inbox = account(
            "inbox",
            args.inbox_storage_name,
            (DEAD_LETTER_CONTAINER,),
            trusted_services_only=not public,
        )
        queues = {
            queue: storage.Queue(
                f"{name}-{key}",
                account_name=inbox.account_name,
                resource_group_name=args.resource_group_name,
                queue_name=queue,
                opts=stateful,
            )
            for key, queue in (("queue", EVENT_QUEUE), ("poison-queue", POISON_QUEUE))
        }
        # Table entities have no soft delete: the audit trail's tamper evidence is the table service's own
        # diagnostic log (every write and delete, with the caller), which governance sends to Log Analytics.
        table = storage.Table(
            f"{name}-audit-table",
            account_name=audit.account_name,
            resource_group_name=args.resource_group_name,
            table_name=AUDIT_TABLE,
            opts=stateful,
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
        _waive_app_checks(app_logical, public=public, tags=args.tags)
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
            # Nothing calls the app: its one function pulls from the queue. Private profile: no public endpoint
            # at all (code is published through the private endpoint); public profile: only the SCM site answers.
            public_network_access="Enabled" if public else "Disabled",
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
                # bounds what a storm of retries can cost.
                scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
                    maximum_instance_count=40, instance_memory_mb=2048
                ),
            ),
            site_config=web.SiteConfigArgs(
                min_tls_version="1.2",
                scm_min_tls_version="1.2",
                ftps_state="Disabled",
                http20_enabled=True,
                # The main site has no route to serve: it denies every caller. The SCM site keeps its own
                # rules (public profile: Microsoft-hosted agents publish there with Entra tokens).
                ip_security_restrictions_default_action="Deny",
                scm_ip_security_restrictions_use_main=False,
                app_settings=[
                    web.NameValuePairArgs(name=key, value=value)
                    for key, value in _app_settings(args, host, audit, inbox).items()
                ],
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[table, *queues.values()]),
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

        self.topic_name = topic.name
        self.topic_id = topic.id
        self.topic_principal_id = topic.identity.apply(lambda i: i.principal_id if i else "")  # type: ignore[union-attr]
        self.function_principal_id = app.identity.apply(lambda i: i.principal_id if i else "")  # type: ignore[union-attr]
        self.function_app_id = app.id
        self.function_app_name = app.name
        self.function_storage_id = host.account_id
        self.inbox_storage_id = inbox.account_id
        self.event_queue_id = queues[EVENT_QUEUE].id
        self.event_queue_name = queues[EVENT_QUEUE].name
        self.poison_queue_id = queues[POISON_QUEUE].id
        self.dead_letter_container_id = inbox.account_id.apply(
            lambda i: f"{i}/blobServices/default/containers/{DEAD_LETTER_CONTAINER}"
        )
        self.audit_storage_id = audit.account_id
        self.audit_storage_name = audit.account_name
        self.register_outputs({"function_app_id": app.id, "topic_id": topic.id})


def _app_settings(
    args: LifecycleEventsArgs,
    host: SecureStorageAccount,
    audit: SecureStorageAccount,
    inbox: SecureStorageAccount,
) -> dict[str, pulumi.Input[str]]:
    """The handler's settings: names and endpoints only; the one secret is a Key Vault reference."""
    settings: dict[str, pulumi.Input[str]] = {
        # Identity-based host storage: no connection string, so no account key.
        "AzureWebJobsStorage__accountName": host.account_name,
        # Identity-based queue trigger connection: the app's system-assigned identity, no key.
        f"{QUEUE_CONNECTION}__queueServiceUri": pulumi.Output.concat(
            "https://", inbox.account_name, ".queue.core.windows.net"
        ),
        QUEUE_NAME_SETTING: EVENT_QUEUE,
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
        "a Flex Consumption plan without always-ready instances has no instance to spread over zones; events "
        "wait in the queue for a week, so a zonal outage delays lifecycle events and loses none",
    )


def _waive_inbox_checks(resource: str) -> None:
    waive_check(
        resource,
        "CKV_AZURE_59",
        "Event Grid delivers events and dead letters with the topic's managed identity as a trusted Azure "
        "service, from outside the VNet, which a disabled public endpoint refuses; the endpoint admits only "
        "trusted services (default action Deny, no IP or VNet rules), shared keys are off, and the topic's "
        "identity may only add messages to one queue and write one container",
    )


def _waive_app_checks(resource: str, *, public: bool, tags: dict[str, str]) -> None:
    if public:
        waive_check(
            resource,
            "CKV_AZURE_222",
            public_profile_reason(
                tags,
                "Microsoft-hosted agents publish the code through the SCM site with Entra tokens (basic auth "
                "off); the main site denies every caller (default Deny, no rule) and serves no route, its one "
                "function being queue-triggered",
            ),
        )
    waive_check(
        resource,
        "CKV_AZURE_212",
        "scale to zero is the point of Flex Consumption here: no idle cost, and events wait in the queue while an "
        "instance starts, so a minimum instance count would only add cost",
    )
    waive_check(
        resource,
        "CKV_AZURE_213",
        "the app serves no HTTP route to probe: its one function is a queue trigger, whose failures the Functions "
        "host retries and then parks in the poison queue",
    )
    waive_check(
        resource,
        "CKV_AZURE_17",
        "no client calls the app: its one function pulls from a queue, the main site denies every caller, and "
        "deployments authenticate with Entra tokens",
    )
