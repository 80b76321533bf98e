"""Lifecycle subscriptions: which workspace events reach the handler's queue, and how Event Grid delivers them.

Four subscriptions on the workspace's system topic, each filtered by event type and advanced filters, deliver
into one storage queue (LifecycleEvents' inbox) with the topic's system-assigned identity: no key, no SAS.
A separate component from LifecycleEvents because of ordering: Event Grid treats a 403 from the queue as final
(it dead-letters the event rather than retrying), so no subscription may exist before the topic's identity
holds its roles on the queue and the dead-letter container, and those grants need the topic to exist first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import eventgrid

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

RETRY_DELAYS_SECONDS = (10, 30, 60, 5 * 60, 10 * 60, 30 * 60, 3600, 3 * 3600, 6 * 3600)
"""Event Grid's documented retry schedule: the waits after each failed attempt, then every 12 hours
(RETRY_REPEAT_SECONDS) until the event's time to live ends. Delivery and retry:
https://learn.microsoft.com/azure/event-grid/delivery-and-retry"""
RETRY_REPEAT_SECONDS = 12 * 3600


def attempt_times(attempts: int) -> list[int]:
    """Seconds after publication at which Event Grid makes each of `attempts` delivery attempts (the schedule's
    best effort: it adds jitter and may skip retries to an endpoint that stays unhealthy)."""
    times = [0]
    for index in range(attempts - 1):
        delay = RETRY_DELAYS_SECONDS[index] if index < len(RETRY_DELAYS_SECONDS) else RETRY_REPEAT_SECONDS
        times.append(times[-1] + delay)
    return times


def attempts_within(ttl_minutes: int) -> int:
    """How many attempts the schedule makes before an event's time to live ends."""
    attempts = 1
    while attempt_times(attempts + 1)[-1] < ttl_minutes * 60:
        attempts += 1
    return attempts


EVENT_TTL_MINUTES = 1440
"""A day, Event Grid's maximum: the only failures it retries here are an inbox it cannot reach (a 403, 400 or 413
is final and dead-letters at once), and a day rides out a regional storage incident."""
MAX_DELIVERY_ATTEMPTS = attempts_within(EVENT_TTL_MINUTES)
"""11: what the documented schedule fits in EVENT_TTL_MINUTES (the 11th attempt is 22 h 47 min after
publication), so count and time agree and an undeliverable event is dead-lettered within the day. With the
previous 10 attempts it was dead-lettered after the 10th, 10 h 47 min in, never near the day the TTL promised."""
QUEUE_MESSAGE_TTL_SECONDS = 7 * 24 * 3600
"""How long a delivered event waits in the queue for the handler (the service's default): a week covers a
handler outage over a long weekend, where push delivery would have given up after a day."""


@dataclass(frozen=True, kw_only=True)
class LifecycleSubscriptionsArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the system topic."""
    topic_name: pulumi.Input[str]
    """Required. Name of the workspace's Event Grid system topic (its identity delivers)."""
    inbox_storage_id: pulumi.Input[str]
    """Required. ARM ID of the account holding the queue and the dead-letter container."""
    queue_name: pulumi.Input[str]
    """Required. Queue every subscribed event is delivered into (in the inbox account)."""
    dead_letter_container: str
    """Required. Container in the same account for events that cannot be delivered."""
    delivery_grants: Sequence[pulumi.Resource]
    """Required. The role assignments that let the topic's identity add queue messages and write dead letters:
    every subscription waits for them (see the module docstring)."""

    def __post_init__(self) -> None:
        if not self.delivery_grants:
            msg = (
                "LifecycleSubscriptionsArgs.delivery_grants: must name the topic identity's role assignments; "
                "without them the first events would be dead-lettered with 403"
            )
            raise ValueError(msg)


class LifecycleSubscriptions(pulumi.ComponentResource):
    """Filtered subscriptions that put the workspace's lifecycle events in the handler's queue."""

    def __init__(
        self, name: str, args: LifecycleSubscriptionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:lifecycle:LifecycleSubscriptions", name, None, opts)
        identity = eventgrid.EventSubscriptionIdentityArgs(type="SystemAssigned")
        for key, (event_types, filters) in SUBSCRIPTIONS.items():
            eventgrid.SystemTopicEventSubscription(
                f"{name}-{key}",
                event_subscription_name=key,
                system_topic_name=args.topic_name,
                resource_group_name=args.resource_group_name,
                # One event per message, in the Event Grid schema the handler validates.
                delivery_with_resource_identity=eventgrid.DeliveryWithResourceIdentityArgs(
                    identity=identity,
                    destination=eventgrid.StorageQueueEventSubscriptionDestinationArgs(
                        endpoint_type="StorageQueue",
                        resource_id=args.inbox_storage_id,
                        queue_name=args.queue_name,
                        queue_message_time_to_live_in_seconds=QUEUE_MESSAGE_TTL_SECONDS,
                    ),
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
                # Oversized events (a queue message holds 64 KiB, an event up to 1 MB) and a queue unreachable
                # for a day land here, written by the same identity; functions/replay.py --dead-letters replays them.
                dead_letter_with_resource_identity=eventgrid.DeadLetterWithResourceIdentityArgs(
                    identity=identity,
                    dead_letter_destination=eventgrid.StorageBlobDeadLetterDestinationArgs(
                        endpoint_type="StorageBlob",
                        resource_id=args.inbox_storage_id,
                        blob_container_name=args.dead_letter_container,
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.delivery_grants)),
            )
        self.register_outputs({})


def _advanced_filter(operator: str, key: str, values: tuple[str, ...]) -> pulumi.Input:
    builders = {
        "StringIn": eventgrid.StringInAdvancedFilterArgs,
        "StringContains": eventgrid.StringContainsAdvancedFilterArgs,
    }
    return builders[operator](operator_type=operator, key=key, values=list(values))
