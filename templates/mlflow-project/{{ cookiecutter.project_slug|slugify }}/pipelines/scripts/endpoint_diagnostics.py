"""Send an online endpoint's logs and metrics, and its deployments' metrics, to the stack's Log Analytics workspace.

    python -m pipelines.scripts.endpoint_diagnostics --subscription-id ... --resource-group ... --workspace ... \\
        --endpoint <name> --log-analytics-workspace-id /subscriptions/.../workspaces/<log analytics workspace>

The platform's endpoint alerts (infra/components/alerts.py) are log searches on that workspace: latency and 5xx
rate from the AmlOnlineEndpointTrafficLog table (the endpoint's log category of the same name), CPU and memory
from AzureMetrics rows of each deployment (its AllMetrics). Endpoints and deployments come and go with releases
after `pulumi up`, so the release gives each one a diagnostic setting, `--setting-name`, sending exactly that.

Idempotent: a setting already sending the same categories to the same workspace is left alone, a category another
setting already sends there is not sent twice (Azure refuses two settings with the same category and sink), and
anything else is created or replaced with a PUT.
"""

import argparse
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.scripts import aml_client, cli, exit_codes
from pipelines.scripts.aml_boundary import DiagnosticSettingsApi

logger = logging.getLogger(__name__)

ENDPOINT_LOGS: tuple[str, ...] = ("AmlOnlineEndpointTrafficLog",)
"""Log categories of an online endpoint the alerts query (table AmlOnlineEndpointTrafficLog)."""
METRICS: tuple[str, ...] = ("AllMetrics",)
"""Metric categories: they land in AzureMetrics, where the CPU and memory alerts read the deployments' rows."""
SETTING_NAME = "azure-mlops-alerts"
_ALL_LOGS = "allLogs"  # the category group that includes every log category


@dataclass(frozen=True)
class Target:
    """One resource and what its diagnostic setting must send."""

    resource_id: str
    logs: tuple[str, ...]
    metrics: tuple[str, ...]


def endpoint_id(subscription: str, resource_group: str, workspace: str, endpoint: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{workspace}/onlineEndpoints/{endpoint}"
    )


def targets(endpoint_resource_id: str, deployments: Sequence[str]) -> list[Target]:
    """The endpoint (its logs and metrics), then each deployment (metrics: deployments have no log categories)."""
    return [
        Target(endpoint_resource_id, ENDPOINT_LOGS, METRICS),
        *(Target(f"{endpoint_resource_id}/deployments/{name}", (), METRICS) for name in deployments),
    ]


def _sent(setting: Mapping[str, Any], kind: str) -> set[str]:
    """Categories (or category groups) a setting sends, enabled only."""
    return {
        str(entry.get("category") or entry.get("categoryGroup"))
        for entry in setting.get(kind) or []
        if entry.get("enabled")
    }


def _same_workspace(setting: Mapping[str, Any], workspace_id: str) -> bool:
    return str(setting.get("workspaceId") or "").casefold() == workspace_id.casefold()


def properties(workspace_id: str, logs: Sequence[str], metrics: Sequence[str]) -> dict[str, Any]:
    """The body of a diagnostic setting sending `logs` and `metrics` to `workspace_id`."""
    return {
        "workspaceId": workspace_id,
        "logs": [{"category": category, "enabled": True} for category in logs],
        "metrics": [{"category": category, "enabled": True} for category in metrics],
    }


def plan(
    existing: Sequence[Mapping[str, Any]], target: Target, workspace_id: str, name: str = SETTING_NAME
) -> dict[str, Any] | None:
    """What to PUT as setting `name` of `target`, or None when the workspace already gets everything."""
    others = [s.get("properties") or {} for s in existing if s.get("name") != name]
    elsewhere_logs: set[str] = set()
    elsewhere_metrics: set[str] = set()
    for setting in others:
        if _same_workspace(setting, workspace_id):
            elsewhere_logs |= _sent(setting, "logs")
            elsewhere_metrics |= _sent(setting, "metrics")
    logs = () if _ALL_LOGS in elsewhere_logs else tuple(c for c in target.logs if c not in elsewhere_logs)
    metrics = tuple(c for c in target.metrics if c not in elsewhere_metrics)
    if not logs and not metrics:
        return None
    wanted = properties(workspace_id, logs, metrics)
    mine = next((s.get("properties") or {} for s in existing if s.get("name") == name), None)
    if (
        mine is not None
        and _same_workspace(mine, workspace_id)
        and _sent(mine, "logs") == set(logs)
        and _sent(mine, "metrics") == set(metrics)
    ):
        return None
    return wanted


def ensure(api: DiagnosticSettingsApi, target: Target, workspace_id: str, name: str = SETTING_NAME) -> bool:
    """Make `target` send its categories to `workspace_id`; return whether anything was written."""
    body = plan(api.diagnostic_settings(target.resource_id), target, workspace_id, name)
    if body is None:
        logger.info(
            "%s already sends %s to %s", target.resource_id, [*target.logs, *target.metrics], workspace_id
        )
        return False
    api.put_diagnostic_setting(target.resource_id, name, body)
    sent = [entry["category"] for entry in (*body["logs"], *body["metrics"])]
    logger.info("%s: diagnostic setting %s sends %s to %s", target.resource_id, name, sent, workspace_id)
    return True


def build_parser() -> argparse.ArgumentParser:
    parser = cli.workspace_parser(__doc__)
    parser.add_argument("--endpoint", required=True, type=cli.endpoint_name, help="managed online endpoint")
    parser.add_argument(
        "--log-analytics-workspace-id",
        required=True,
        type=cli.log_analytics_workspace_id,
        help="ARM ID of the stack's Log Analytics workspace (Pulumi output logAnalyticsWorkspaceId)",
    )
    parser.add_argument("--setting-name", type=cli.asset_name, default=SETTING_NAME)
    return parser


def main(argv: Sequence[str] | None = None, api: DiagnosticSettingsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    api = api or aml_client.from_args(args)
    resource = endpoint_id(args.subscription_id, args.resource_group, args.workspace, args.endpoint)
    written = sum(
        ensure(api, target, args.log_analytics_workspace_id, args.setting_name)
        for target in targets(resource, api.online_deployment_names(args.endpoint))
    )
    logger.info("%s: %d diagnostic setting(s) written", args.endpoint, written)
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
