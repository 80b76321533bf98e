"""Monitoring: a Log Analytics workspace and the workspace-based Application Insights that AML uses."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of both resources."""
    location: str
    """Required. Azure region."""
    log_analytics_name: str
    """Required. Name of the Log Analytics workspace."""
    application_insights_name: str
    """Required. Name of the Application Insights component."""
    retention_days: int
    """Required. Log retention in days (30-730)."""
    tags: dict[str, str]
    """Required. Tags for both resources."""


class Monitoring(pulumi.ComponentResource):
    """Log Analytics plus workspace-based Application Insights (classic, unlinked App Insights is retired)."""

    log_analytics_workspace_id: pulumi.Output[str]
    """ARM ID of the Log Analytics workspace: the sink for diagnostic settings."""
    application_insights_id: pulumi.Output[str]
    """ARM ID of the Application Insights component: linked to the AML workspace."""
    application_insights_name: pulumi.Output[str]
    """Name of the Application Insights component."""
    application_insights_connection_string: pulumi.Output[str]
    """Connection string of the component (ingestion only, not a secret): how other apps send telemetry."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("azure-mlops:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        logs = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=args.log_analytics_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.retention_days,
            tags=args.tags,
            opts=child,
        )
        insights = applicationinsights.Component(
            f"{name}-insights",
            resource_name_=args.application_insights_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=logs.id,
            # Local (instrumentation key) auth stays on: AML online endpoints send their telemetry with the
            # connection string, and turning it off silently drops endpoint logs.
            disable_local_auth=False,
            tags=args.tags,
            opts=child,
        )

        self.log_analytics_workspace_id = logs.id
        self.application_insights_id = insights.id
        self.application_insights_name = insights.name
        self.application_insights_connection_string = insights.connection_string
        self.register_outputs(
            {
                "log_analytics_workspace_id": logs.id,
                "application_insights_id": insights.id,
                "application_insights_name": insights.name,
            }
        )
