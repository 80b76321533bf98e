"""What optional features (lifecycle events, Databricks) take from the core stack: one bundle, built once."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True, kw_only=True)
class StackResources:
    """IDs and settings of the core stack that feature builders attach to."""

    resource_group_name: pulumi.Input[str]
    """The stack's resource group."""
    subscription_id: str
    """Subscription of the stack."""
    tenant_id: str
    """Entra tenant of the stack."""
    tags: dict[str, str]
    """The stack's standard tags."""
    workspace_id: pulumi.Input[str]
    """ARM ID of the Azure ML workspace."""
    mlflow_tracking_uri: pulumi.Input[str]
    """The workspace's MLflow tracking URI."""
    key_vault_id: pulumi.Input[str]
    """ARM ID of the stack's key vault."""
    key_vault_name: pulumi.Input[str]
    """Name of the stack's key vault."""
    application_insights_id: pulumi.Input[str]
    """ARM ID of Application Insights."""
    application_insights_connection_string: pulumi.Input[str]
    """Connection string of Application Insights."""
    log_analytics_workspace_id: pulumi.Input[str]
    """ARM ID of the Log Analytics workspace."""
