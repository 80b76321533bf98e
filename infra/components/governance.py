"""Governance: cost budget and alerts, diagnostic logs to Log Analytics, and delete locks on data.

Locks sit on the resources that hold data (storage accounts, key vault, registries), not on the resource group
nor the workspace: a CanNotDelete lock is inherited by everything under its scope, so Azure ML could no longer
delete an old online deployment after a blue/green release, nor a compute instance, and releases would fail.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, consumption, monitor

BUDGET_THRESHOLDS: dict[str, tuple[int, str]] = {
    "actual-80": (80, "Actual"),
    "actual-100": (100, "Actual"),
    "forecast-110": (110, "Forecasted"),
}
"""Notification key -> (percent of the monthly amount, Actual or Forecasted spend)."""


@dataclass(frozen=True)
class LogProfile:
    """What a diagnostic setting collects from one resource type: the categories Azure Monitor lists for it."""

    categories: tuple[str, ...] = ()
    """Log categories; empty collects the `allLogs` category group."""
    metrics: bool = True
    """Whether the type emits platform metrics (AllMetrics); a setting asking for absent metrics is refused."""


# Categories as the Azure Monitor "Supported logs" reference lists them per resource type.
ALL_LOGS = LogProfile()
"""Every log (the allLogs group) and AllMetrics: the workspace, key vault, container registry, storage services."""
AML_REGISTRY_LOGS = LogProfile(("RegistryAssetReadEvent", "RegistryAssetWriteEvent"), metrics=False)
"""Microsoft.MachineLearningServices/registries: who read or wrote which asset version; the type has no metrics."""
FUNCTION_APP_LOGS = LogProfile(("FunctionAppLogs",))
"""Microsoft.Web/sites running Functions: the host's and the handler's logs (the App Service categories stay
empty for a function app)."""
SYSTEM_TOPIC_LOGS = LogProfile(("DeliveryFailures",))
"""Microsoft.EventGrid/systemTopics: events Event Grid failed to deliver (the only category)."""
CONTAINER_APPS_ENVIRONMENT_LOGS = LogProfile(metrics=False)
"""Microsoft.App/managedEnvironments: every log (the allLogs group: console and system logs of the runner jobs); the
environment exports no platform metrics through a diagnostic setting."""


@dataclass(frozen=True)
class DiagnosticTarget:
    """A resource whose logs go to Log Analytics, with what its type supports."""

    resource_id: pulumi.Input[str]
    """ARM ID of the resource (or storage service)."""
    profile: LogProfile = ALL_LOGS
    """What to collect; ALL_LOGS unless the type's categories differ."""
    aliases: tuple[pulumi.Alias, ...] = ()
    """Optional. Earlier identities of the setting (a setting that moved here from another component): Pulumi then
    updates it in place instead of creating the new one and deleting the old, which, both being the same Azure
    object, would leave the resource without its setting."""


@dataclass(frozen=True, kw_only=True)
class GovernanceArgs:
    resource_group_name: pulumi.Input[str]
    """Required. The group the budget, alerts and lock apply to."""
    resource_group_id: pulumi.Input[str]
    """Required. ARM ID of that group: the budget's scope."""
    log_analytics_workspace_id: pulumi.Input[str]
    """Required. Destination of every diagnostic setting."""
    tags: dict[str, str]
    """Required. Tags for the action group."""
    action_group_name: str
    """Required. Name of the stack's action group: cost and operational alerts notify it."""
    action_group_short_name: str
    """Required. Short name (at most 12 characters) shown in alert e-mails and SMS."""
    diagnostics: dict[str, DiagnosticTarget] = field(default_factory=dict)
    """Optional. Stable key -> a resource whose logs (and metrics, where it has them) go to Log Analytics."""
    monthly_budget_usd: int = 0
    """Optional. Monthly cost budget of the group; 0 creates no budget."""
    alert_emails: tuple[str, ...] = ()
    """Conditional. Who the action group mails; without any there is no action group. Required when
    monthly_budget_usd is set."""
    delete_locks: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Optional. Stable key -> ARM ID of a resource that gets a CanNotDelete lock."""

    def __post_init__(self) -> None:
        if len(self.action_group_short_name) > 12:
            msg = f"GovernanceArgs.action_group_short_name {self.action_group_short_name!r}: at most 12 characters"
            raise ValueError(msg)
        if self.monthly_budget_usd > 0 and not self.alert_emails:
            msg = (
                "GovernanceArgs.alert_emails: at least one address is required when monthly_budget_usd is set"
            )
            raise ValueError(msg)


class Governance(pulumi.ComponentResource):
    """Budget with alert thresholds and an action group, diagnostic settings, and a delete lock."""

    action_group_id: pulumi.Output[str] | None
    """ARM ID of the stack's action group, when alert e-mails are set."""

    def __init__(self, name: str, args: GovernanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("azure-mlops:governance:Governance", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        for key, target in args.diagnostics.items():
            profile = target.profile
            monitor.DiagnosticSetting(
                f"{name}-diagnostics-{key}",
                name="to-log-analytics",
                resource_uri=target.resource_id,
                workspace_id=args.log_analytics_workspace_id,
                # Resource-specific tables are cheaper to query than the legacy AzureDiagnostics table.
                log_analytics_destination_type="Dedicated",
                logs=[
                    monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True)
                    for category in profile.categories
                ]
                or [monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)],
                metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)]
                if profile.metrics
                else None,
                opts=pulumi.ResourceOptions(parent=self, aliases=list(target.aliases)),
            )

        # One action group per stack: budgets here and operational alerts elsewhere all notify it.
        self.action_group_id = None
        if args.alert_emails:
            group = monitor.ActionGroup(
                f"{name}-action-group",
                action_group_name=args.action_group_name,
                resource_group_name=args.resource_group_name,
                location="global",
                group_short_name=args.action_group_short_name,
                enabled=True,
                email_receivers=[
                    monitor.MicrosoftCommonEmailReceiverArgs(
                        name=f"email-{index}", email_address=email, use_common_alert_schema=True
                    )
                    for index, email in enumerate(args.alert_emails)
                ],
                tags=args.tags,
                opts=child,
            )
            self.action_group_id = group.id
        if args.monthly_budget_usd > 0 and self.action_group_id is not None:
            consumption.Budget(
                f"{name}-budget",
                budget_name=f"{args.action_group_name}-monthly",
                scope=args.resource_group_id,
                amount=args.monthly_budget_usd,
                category="Cost",
                time_grain="Monthly",
                time_period=consumption.BudgetTimePeriodArgs(start_date=_first_of_this_month()),
                notifications={
                    key: consumption.NotificationArgs(
                        enabled=True,
                        operator="GreaterThan",
                        threshold=percent,
                        threshold_type=kind,
                        contact_groups=[self.action_group_id],
                        contact_emails=list(args.alert_emails),
                    )
                    for key, (percent, kind) in BUDGET_THRESHOLDS.items()
                },
                # Azure wants the start date in the month of creation; later runs must not move it.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["timePeriod"]),
            )

        for key, resource_id in args.delete_locks.items():
            authorization.ManagementLockByScope(
                f"{name}-lock-{key}",
                lock_name="do-not-delete",
                scope=resource_id,
                level="CanNotDelete",
                notes="Holds the environment's data. Remove this lock deliberately before deleting it.",
                opts=child,
            )
        self.register_outputs({})


def _first_of_this_month() -> str:
    today = datetime.datetime.now(tz=datetime.UTC).date()
    return today.replace(day=1).isoformat() + "T00:00:00Z"
