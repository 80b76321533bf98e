"""Operational alerts: compute health of the workspace and serving health of its online endpoints.

Endpoints do not exist at `pulumi up` time (the project's CD creates and replaces them), and Azure
Monitor's multi-resource metric alerts do not cover Azure ML endpoints, so a metric alert cannot be
scoped to them in advance. Endpoint alerts are therefore log search alerts on the stack's Log
Analytics workspace: they match every endpoint by name, present or future, as soon as its diagnostic
setting sends AmlOnlineEndpointTrafficLog and the deployments' metrics (AzureMetrics) there, which the
CD does for each endpoint it creates (docs/lifecycle-events.md). Compute alerts are ordinary metric
alerts on the workspace itself, which exists; with lifecycle events, one more watches the handler's inbox
queues. Everything goes to the stack's one action group.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

from infra.alert_schedules import AlertKind, check_schedule

WORKSPACE_METRICS = "Microsoft.MachineLearningServices/workspaces"
QUEUE_METRICS = "Microsoft.Storage/storageAccounts/queueServices"


LOG_RULE_FREQUENCY = "PT15M"
"""Every 15 minutes: the cheapest log alert tier, quick enough for serving that has its own autoscale."""


@dataclass(frozen=True)
class MetricRule:
    """A static-threshold metric alert; a window or frequency Azure refuses fails its construction, at import."""

    key: str
    metric: str
    aggregation: str
    threshold: float
    window: str
    frequency: str
    severity: int
    why: str

    def __post_init__(self) -> None:
        check_schedule(self.key, AlertKind.METRIC, self.window, self.frequency)


@dataclass(frozen=True)
class LogRule:
    """A log search alert: `query` yields one row per (endpoint, deployment) with a `value` column; evaluated
    every `frequency` over `window` (checked at construction like MetricRule's)."""

    key: str
    query: str
    threshold: float
    severity: int
    why: str
    window: str = LOG_RULE_FREQUENCY
    frequency: str = LOG_RULE_FREQUENCY

    def __post_init__(self) -> None:
        check_schedule(self.key, AlertKind.LOG, self.window, self.frequency)


# Metric names as Azure Monitor lists them for Microsoft.MachineLearningServices/workspaces.
METRIC_RULES: dict[str, MetricRule] = {
    rule.key: rule
    for rule in (
        MetricRule(
            "quota",
            "Quota Utilization Percentage",
            "Maximum",
            90,
            "PT1H",
            "PT15M",
            2,
            "a cluster family is above 90% of its core quota: the next scale-out or job will queue",
        ),
        MetricRule(
            "unusable-nodes",
            "Unusable Nodes",
            "Maximum",
            0,
            "PT15M",
            "PT5M",
            2,
            "cluster nodes are unusable (failed provisioning or disk/driver faults): jobs wait or fail",
        ),
        MetricRule(
            "failed-runs",
            "Failed Runs",
            "Total",
            0,
            "PT1H",
            "PT15M",
            3,
            "jobs failed in the workspace; the lifecycle handler posts each one's details to the team channel",
        ),
    )
}
"""Rules on the workspace (WORKSPACE_METRICS), as Azure Monitor names its metrics."""

INBOX_RULE = MetricRule(
    "lifecycle-inbox",
    # Storage emits QueueMessageCount once an hour for the whole queue service (no per-queue dimension):
    # the event queue drains within seconds, so six non-empty hourly readings in a row mean events are waiting
    # for a handler that is down, or sit in the poison queue. Six hours is the shortest metric alert window
    # above one hour (one reading could be a burst caught in flight); queued events keep for days meanwhile.
    "QueueMessageCount",
    "Minimum",
    0,
    "PT6H",
    "PT1H",
    2,
    "lifecycle events have waited in the handler's queues for six hours: the handler is down, or messages "
    "sit in the poison queue (docs/lifecycle-events.md, Replaying events)",
)
"""The lifecycle inbox's queue service (QUEUE_METRICS): events waiting, or poisoned."""

_TRAFFIC = "AmlOnlineEndpointTrafficLog"
_DEPLOYMENT_METRICS = (
    'AzureMetrics | where ResourceProvider == "MICROSOFT.MACHINELEARNINGSERVICES" '
    '| extend EndpointName = tostring(split(ResourceId, "/")[10]), DeploymentName = tostring(split(ResourceId, "/")[12])'
)
# Online endpoint and deployment columns as the AmlOnlineEndpointTrafficLog table and the
# Microsoft.MachineLearningServices/workspaces/onlineEndpoints(/deployments) metrics document them.
LOG_RULES: dict[str, LogRule] = {
    rule.key: rule
    for rule in (
        LogRule(
            "endpoint-latency",
            f"{_TRAFFIC} | summarize value = percentile(TotalDurationMs, 95) by EndpointName, DeploymentName",
            1000,
            2,
            "p95 request latency of an endpoint deployment above one second",
        ),
        LogRule(
            "endpoint-5xx",
            f"{_TRAFFIC} | summarize value = 100.0 * countif(toint(ResponseCode) >= 500) / count() "
            "by EndpointName, DeploymentName",
            5,
            1,
            "more than 5% of an endpoint deployment's responses are server errors",
        ),
        LogRule(
            "deployment-cpu",
            f'{_DEPLOYMENT_METRICS} | where MetricName == "CpuUtilizationPercentage" '
            "| summarize value = avg(Average) by EndpointName, DeploymentName",
            85,
            2,
            "a deployment's instances average above 85% CPU: scale out before latency grows",
        ),
        LogRule(
            "deployment-memory",
            f'{_DEPLOYMENT_METRICS} | where MetricName == "CpuMemoryUtilizationPercentage" '
            "| summarize value = avg(Average) by EndpointName, DeploymentName",
            85,
            2,
            "a deployment's instances average above 85% memory: the scoring container risks being killed",
        ),
    )
}


@dataclass(frozen=True, kw_only=True)
class OperationalAlertsArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the alert rules."""
    location: str
    """Required. Region of the log search alerts (the Log Analytics workspace's)."""
    workspace_id: pulumi.Input[str]
    """Required. ARM ID of the Azure ML workspace: scope of the compute alerts."""
    log_analytics_workspace_id: pulumi.Input[str]
    """Required. ARM ID of the Log Analytics workspace: scope of the endpoint alerts."""
    action_group_id: pulumi.Input[str]
    """Required. The stack's action group: every alert notifies it."""
    name_prefix: str
    """Required. Prefix of the rule names, e.g. the stack's workload and environment."""
    tags: dict[str, str]
    """Required. Tags for the rules."""
    lifecycle_inbox_id: pulumi.Input[str] | None = None
    """Optional. ARM ID of the lifecycle events' inbox account: alert when its queues hold messages for hours.
    None (no lifecycle events) adds no rule."""


class OperationalAlerts(pulumi.ComponentResource):
    """Metric alerts on the workspace's compute and log search alerts on its online endpoints."""

    def __init__(
        self, name: str, args: OperationalAlertsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:monitoring:OperationalAlerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        metric_rules = [
            (key, rule, args.workspace_id, WORKSPACE_METRICS) for key, rule in METRIC_RULES.items()
        ]
        if args.lifecycle_inbox_id is not None:
            queues = pulumi.Output.from_input(args.lifecycle_inbox_id).apply(
                lambda i: f"{i}/queueServices/default"
            )
            metric_rules.append(("lifecycle-inbox", INBOX_RULE, queues, QUEUE_METRICS))
        for key, rule, scope, namespace in metric_rules:
            monitor.MetricAlert(
                f"{name}-{key}",
                rule_name=f"{args.name_prefix}-{key}",
                resource_group_name=args.resource_group_name,
                location="global",
                description=rule.why,
                severity=rule.severity,
                enabled=True,
                scopes=[scope],
                evaluation_frequency=rule.frequency,
                window_size=rule.window,
                auto_mitigate=True,
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[
                        monitor.MetricCriteriaArgs(
                            criterion_type="StaticThresholdCriterion",
                            name=key,
                            metric_namespace=namespace,
                            metric_name=rule.metric,
                            operator="GreaterThan",
                            threshold=rule.threshold,
                            time_aggregation=rule.aggregation,
                        )
                    ],
                ),
                actions=[monitor.MetricAlertActionArgs(action_group_id=args.action_group_id)],
                tags=args.tags,
                opts=child,
            )

        for key, rule in LOG_RULES.items():
            monitor.ScheduledQueryRule(
                f"{name}-{key}",
                rule_name=f"{args.name_prefix}-{key}",
                resource_group_name=args.resource_group_name,
                location=args.location,
                kind="LogAlert",
                description=rule.why,
                severity=rule.severity,
                enabled=True,
                scopes=[args.log_analytics_workspace_id],
                evaluation_frequency=rule.frequency,
                window_size=rule.window,
                # The endpoint tables appear with the first endpoint's logs; validating the query before
                # then would fail the deployment of a fresh stack.
                skip_query_validation=True,
                auto_mitigate=True,
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                    all_of=[
                        monitor.ConditionArgs(
                            query=rule.query,
                            time_aggregation="Maximum",
                            metric_measure_column="value",
                            operator="GreaterThan",
                            threshold=rule.threshold,
                            # One alert per endpoint deployment, so the notification names the one at fault.
                            dimensions=[
                                monitor.DimensionArgs(name=column, operator="Include", values=["*"])
                                for column in ("EndpointName", "DeploymentName")
                            ],
                            failing_periods=monitor.ConditionFailingPeriodsArgs(
                                number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                            ),
                        )
                    ]
                ),
                actions=monitor.ActionsArgs(action_groups=[args.action_group_id]),
                tags=args.tags,
                opts=child,
            )
        self.register_outputs({})
