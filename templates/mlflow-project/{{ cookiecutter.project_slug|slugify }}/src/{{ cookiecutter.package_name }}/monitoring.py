"""Point the model-monitoring schedule (aml/monitoring.yml) at the live online deployment and apply it.

    python -m {{ cookiecutter.package_name }}.monitoring --endpoint {{ cookiecutter.endpoint_name }} --deployment green \\
        --subscription <id> --resource-group <rg> --workspace <ws>

Blue/green releases move traffic between two deployments, and a monitor watches one: CD runs this after
each release with the colour that now serves, so drift is always measured on the data that matters.
Thresholds are not set here: they live, each with what it flags, in aml/monitoring.yml.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.promote import WORKSPACE_SETTINGS, workspace_settings

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

MONITORING_SPEC = Path("aml") / "monitoring.yml"
TARGET_FIELD = "create_monitor.monitoring_target.endpoint_deployment_id"


def load_monitor(spec: Path, endpoint: str, deployment: str) -> Any:
    """The schedule in `spec`, watching `endpoint`'s `deployment` (validated by the SDK's own loader)."""
    # azure.ai.ml does not re-export load_schedule; this is the function `az ml schedule create` uses.
    from azure.ai.ml.entities._load_functions import load_schedule

    return load_schedule(source=spec, params_override=[{TARGET_FIELD: f"azureml:{endpoint}:{deployment}"}])


def apply(client: MLClient, spec: Path, endpoint: str, deployment: str) -> str:
    """Create or update the schedule; return its name."""
    schedule = load_monitor(spec, endpoint, deployment)
    client.schedules.begin_create_or_update(schedule).result()
    return str(schedule.name)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--endpoint", required=True, help="online endpoint")
    parser.add_argument("--deployment", required=True, help="the deployment that takes the traffic now")
    parser.add_argument("--spec", type=Path, default=MONITORING_SPEC)
    for key in WORKSPACE_SETTINGS:
        parser.add_argument("--" + key.replace("_", "-"), dest=key, default=None)
    args: argparse.Namespace = parser.parse_args(argv)

    def step() -> int:
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential

        settings = workspace_settings(args, dict(os.environ))
        client = MLClient(
            DefaultAzureCredential(exclude_interactive_browser_credential=True),
            subscription_id=settings["subscription"],
            resource_group_name=settings["resource_group"],
            workspace_name=settings["workspace"],
        )
        name = apply(client, args.spec, args.endpoint, args.deployment)
        print(f"monitor {name} watches {args.endpoint}:{args.deployment}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
