"""How the stack program composes lifecycle events and operational alerts from the validated config.

Kept beside program.py so the program stays a readable list of components: this module maps config keys
and the stack's shared resources onto LifecycleEventsArgs, the handler's role grants, the subscriptions that
wait for them, and the alerts.
"""

from __future__ import annotations

import pulumi

from infra.access_policy import TOPIC_DELIVERY_GRANTS, LifecycleScopes, lifecycle_grants
from infra.components.access import AccessControl, Grant
from infra.components.alerts import OperationalAlerts, OperationalAlertsArgs
from infra.components.governance import FUNCTION_APP_LOGS, SYSTEM_TOPIC_LOGS, DiagnosticTarget
from infra.components.lifecycle_events import (
    DEAD_LETTER_CONTAINER,
    LifecycleEvents,
    LifecycleEventsArgs,
    LifecycleNetwork,
)
from infra.components.lifecycle_subscriptions import LifecycleSubscriptions, LifecycleSubscriptionsArgs
from infra.config import StackConfig
from infra.naming import ResourceNames
from infra.private_profile import LifecycleTargets
from infra.stack_resources import StackResources


def build_lifecycle(
    config: StackConfig,
    names: ResourceNames,
    shared: StackResources,
    subnet_id: pulumi.Input[str] | None = None,
) -> LifecycleEvents | None:
    """The lifecycle events component, when lifecycleEventsEnabled is true.

    `subnet_id` is the private profile's lifecycle subnet: the handler joins the VNet there (required when the
    stack is private, unused when it is public).
    """
    if not config.lifecycle_events_enabled:
        return None
    if config.is_private and subnet_id is None:
        msg = "build_lifecycle: a private stack needs the lifecycle subnet's ID (subnet_id)"
        raise ValueError(msg)
    devops = None
    if config.retrain_pipeline_id and config.azure_devops_organization and config.azure_devops_project:
        devops = (config.azure_devops_organization, config.azure_devops_project, config.retrain_pipeline_id)
    return LifecycleEvents(
        "lifecycle",
        LifecycleEventsArgs(
            resource_group_name=shared.resource_group_name,
            location=config.location,
            workspace_id=shared.workspace_id,
            topic_name=names.event_grid_topic,
            plan_name=names.function_plan,
            function_app_name=names.function_app,
            function_storage_name=names.function_storage,
            audit_storage_name=names.audit_storage,
            inbox_storage_name=names.inbox_storage,
            key_vault_name=shared.key_vault_name,
            webhook_secret_name=config.notification_webhook_secret_name,
            application_insights_connection_string=shared.application_insights_connection_string,
            storage_sku=config.storage_sku,
            soft_delete_days=config.soft_delete_retention_days,
            tags=shared.tags,
            devops=devops,
            protect=config.protect_stateful_resources,
            network=LifecycleNetwork(subnet_id=subnet_id) if config.is_private and subnet_id else None,
        ),
    )


def endpoint_targets(lifecycle: LifecycleEvents | None) -> LifecycleTargets | None:
    """What of the handler gets private endpoints in a private stack (none without the feature)."""
    if lifecycle is None:
        return None
    return LifecycleTargets(
        function_storage_id=lifecycle.function_storage_id,
        inbox_storage_id=lifecycle.inbox_storage_id,
        audit_storage_id=lifecycle.audit_storage_id,
        function_app_id=lifecycle.function_app_id,
    )


def grants_of(lifecycle: LifecycleEvents | None, shared: StackResources) -> tuple[Grant, ...]:
    """The handler's and the topic's role assignments (none without the feature)."""
    if lifecycle is None:
        return ()
    return lifecycle_grants(
        LifecycleScopes(
            function_principal=lifecycle.function_principal_id,
            topic_principal=lifecycle.topic_principal_id,
            function_storage=lifecycle.function_storage_id,
            event_queue=lifecycle.event_queue_id,
            poison_queue=lifecycle.poison_queue_id,
            dead_letter_container=lifecycle.dead_letter_container_id,
            audit_store=lifecycle.audit_storage_id,
            key_vault=shared.key_vault_id,
            application_insights=shared.application_insights_id,
        )
    )


def subscribe(lifecycle: LifecycleEvents | None, shared: StackResources, access: AccessControl) -> None:
    """The filtered subscriptions, created once the topic's identity may deliver (none without the feature)."""
    if lifecycle is None:
        return
    LifecycleSubscriptions(
        "lifecycle-subscriptions",
        LifecycleSubscriptionsArgs(
            resource_group_name=shared.resource_group_name,
            topic_name=lifecycle.topic_name,
            inbox_storage_id=lifecycle.inbox_storage_id,
            queue_name=lifecycle.event_queue_name,
            dead_letter_container=DEAD_LETTER_CONTAINER,
            delivery_grants=[access.assignments[key] for key in TOPIC_DELIVERY_GRANTS],
        ),
    )


def diagnostics_of(lifecycle: LifecycleEvents | None) -> dict[str, DiagnosticTarget]:
    """The audit table's data-plane log (every write and delete, with its caller): the trail's tamper evidence;
    the handler's own logs; and the events Event Grid failed to deliver (none without the feature)."""
    if lifecycle is None:
        return {}
    return {
        "audit-store-table": DiagnosticTarget(
            lifecycle.audit_storage_id.apply(lambda i: f"{i}/tableServices/default")
        ),
        "lifecycle-app": DiagnosticTarget(lifecycle.function_app_id, FUNCTION_APP_LOGS),
        "lifecycle-topic": DiagnosticTarget(lifecycle.topic_id, SYSTEM_TOPIC_LOGS),
    }


def locks_of(lifecycle: LifecycleEvents | None) -> dict[str, pulumi.Input[str]]:
    """Where stateful resources are protected: delete locks on the audit trail and the inbox (queued and
    dead-lettered events).

    The handler's own account is not locked: it holds only the code package (the pipeline republishes it) and
    the host's leases.
    """
    if lifecycle is None:
        return {}
    return {
        "lifecycle-audit": lifecycle.audit_storage_id,
        "lifecycle-inbox": lifecycle.inbox_storage_id,
    }


def build_alerts(
    config: StackConfig,
    names: ResourceNames,
    shared: StackResources,
    action_group_id: pulumi.Output[str] | None,
    lifecycle: LifecycleEvents | None = None,
) -> OperationalAlerts | None:
    """Compute and endpoint alerts, and the lifecycle inbox's backlog alert with lifecycle events, routed to the
    stack's action group; none without one (no alertEmails)."""
    if action_group_id is None:
        return None
    return OperationalAlerts(
        "alerts",
        OperationalAlertsArgs(
            resource_group_name=shared.resource_group_name,
            location=config.location,
            workspace_id=shared.workspace_id,
            log_analytics_workspace_id=shared.log_analytics_workspace_id,
            action_group_id=action_group_id,
            name_prefix=f"alert-{names.workload}-{names.environment}",
            tags=shared.tags,
            lifecycle_inbox_id=lifecycle.inbox_storage_id if lifecycle else None,
        ),
    )
