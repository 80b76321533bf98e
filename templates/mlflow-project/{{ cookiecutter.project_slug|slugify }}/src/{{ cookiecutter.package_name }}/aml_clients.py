"""The Azure boundary of `promote` and `monitoring`: the clients they call, built in one place.

`from_args` is the only code that creates Azure clients for them, so a test (the platform's Azure twin) can
replace it and answer every call with the same surfaces; users always get the real `MLClient`s and the
workspace's MLflow client. Needs the `azure` extra.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.ai.ml import MLClient
    from mlflow import MlflowClient


@dataclass(frozen=True)
class AmlClients:
    """What a step talks to: the stack's workspace, optionally the registry and the workspace's MLflow."""

    workspace: MLClient
    """The workspace named by `settings` (jobs, models, schedules)."""
    registry: MLClient | None = None
    """The Azure ML registry, when the step was given one."""
    tracking: MlflowClient | None = None
    """The workspace's MLflow tracking and model registry, when the step asked for it."""


def _tracking(workspace: MLClient, name: str) -> MlflowClient:
    from mlflow import MlflowClient

    # Inside an Azure ML job MLFLOW_TRACKING_URI is already the workspace's; on a CI agent ask the workspace.
    uri = os.environ.get("MLFLOW_TRACKING_URI") or workspace.workspaces.get(name).mlflow_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def from_args(settings: Mapping[str, str], *, registry: str = "", tracking: bool = False) -> AmlClients:
    """Clients for the workspace in `settings` (keys subscription, resource_group, workspace), the registry
    named `registry` (none when ""), and the workspace's MLflow when `tracking`."""
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    workspace = MLClient(
        credential,
        subscription_id=settings["subscription"],
        resource_group_name=settings["resource_group"],
        workspace_name=settings["workspace"],
    )
    return AmlClients(
        workspace=workspace,
        registry=MLClient(credential, registry_name=registry) if registry else None,
        tracking=_tracking(workspace, settings["workspace"]) if tracking else None,
    )
