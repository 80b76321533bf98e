"""Point the model-monitoring schedule (aml/monitoring.yml) at the live online deployment and apply it.

    python -m {{ cookiecutter.package_name }}.monitoring --endpoint {{ cookiecutter.endpoint_name }} --deployment green \\
        [--model azureml://registries/<registry>/models/{{ cookiecutter.project_slug }}/versions/<v>] \\
        --subscription <id> --resource-group <rg> --workspace <ws>

Blue/green releases move traffic between two deployments, and a monitor watches one: CD runs this after
each release with the colour that now serves, so drift is always measured on the data that matters. With
`--model` (the registry model the release deployed) every signal's reference becomes that version's training
data in the registry, which `promote` put there (reference.py); without it the spec's own reference applies
(the workspace's latest `{{ cookiecutter.project_slug }}-training-data`, which the training pipeline registers in dev).
The schedule's `model_name` tag is always this project's registered model: the platform's lifecycle handler
reads it to know which model's retraining a breach queues. The data contract supplies the task, every
signal's target column and the features the drift and quality signals watch, each declared numerical or
categorical (`feature_type_override`: a `category` feature is categorical, so Azure ML measures it with the
spec's `categorical` thresholds instead of guessing its type from the data). Thresholds are not set here:
they live, each with what it flags, in aml/monitoring.yml.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from {{ cookiecutter.package_name }} import aml_clients, cli, reference
from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data import CONTRACT
from {{ cookiecutter.package_name }}.promote import WORKSPACE_SETTINGS, workspace_settings
from {{ cookiecutter.package_name }}.settings import MODEL_NAME

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

MONITORING_SPEC = Path("aml") / "monitoring.yml"
TARGET_FIELD = "create_monitor.monitoring_target.endpoint_deployment_id"
MODEL_NAME_TAG = "model_name"
"""The run tag the platform's lifecycle handler reads to name the model a monitor breach belongs to."""


TASK_FIELD = "create_monitor.monitoring_target.ml_task"
FEATURE_SIGNALS = ("data_drift", "data_quality")
"""Signal types that watch input features: they watch exactly the contract's."""


def _signals(spec: Path) -> dict[str, Any]:
    return yaml.safe_load(spec.read_text(encoding="utf-8"))["create_monitor"]["monitoring_signals"]


def _reference_fields(spec: Path) -> list[str]:
    return [
        f"create_monitor.monitoring_signals.{name}.reference_data.input_data.path"
        for name, signal in _signals(spec).items()
        if "reference_data" in signal
    ]


def feature_types(contract: DataContract = CONTRACT) -> dict[str, str]:
    """Each feature's monitoring type: `categorical` for a `category` feature, `numerical` otherwise."""
    return {
        feature.name: "categorical" if feature.is_category else "numerical" for feature in contract.features
    }


def contract_overrides(spec: Path, contract: DataContract = CONTRACT) -> list[dict[str, Any]]:
    """The data contract's task, target column (every signal with reference data) and features with their
    types (drift, quality)."""
    overrides: list[dict[str, Any]] = [{TASK_FIELD: contract.task}]
    for name, signal in _signals(spec).items():
        field = f"create_monitor.monitoring_signals.{name}"
        if "reference_data" in signal:
            target = f"{field}.reference_data.data_column_names.target_column"
            overrides.append({target: contract.target.name})
        if signal.get("type") in FEATURE_SIGNALS:
            overrides.append({f"{field}.features": contract.feature_names})
            overrides.append({f"{field}.feature_type_override": feature_types(contract)})
    return overrides


def load_monitor(
    spec: Path, endpoint: str, deployment: str, model: str | None = None, contract: DataContract = CONTRACT
) -> Any:
    """The schedule in `spec`, watching `endpoint`'s `deployment`, tagged with this project's model, and with
    the reference data promoted with registry `model` when given (validated by the SDK's own loader)."""
    # azure.ai.ml does not re-export load_schedule; this is the function `az ml schedule create` uses.
    from azure.ai.ml.entities._load_functions import load_schedule

    overrides = [
        {TARGET_FIELD: f"azureml:{endpoint}:{deployment}"},
        {f"tags.{MODEL_NAME_TAG}": MODEL_NAME},
        *contract_overrides(spec, contract),
    ]
    if model:
        data = reference.reference_for_model(model)
        overrides += [{field: data} for field in _reference_fields(spec)]
    return load_schedule(source=spec, params_override=overrides)


def apply(client: MLClient, spec: Path, endpoint: str, deployment: str, model: str | None = None) -> str:
    """Create or update the schedule; return its name."""
    schedule = load_monitor(spec, endpoint, deployment, model)
    client.schedules.begin_create_or_update(schedule).result()
    return str(schedule.name)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--endpoint", required=True, help="online endpoint")
    parser.add_argument("--deployment", required=True, help="the deployment that takes the traffic now")
    parser.add_argument(
        "--model", default="", help="the registry model the release deployed: its reference data is used"
    )
    parser.add_argument("--spec", type=Path, default=MONITORING_SPEC)
    for key in WORKSPACE_SETTINGS:
        parser.add_argument("--" + key.replace("_", "-"), dest=key, default=None)
    args: argparse.Namespace = parser.parse_args(argv)

    def step() -> int:
        client = aml_clients.from_args(workspace_settings(args, dict(os.environ))).workspace
        name = apply(client, args.spec, args.endpoint, args.deployment, args.model or None)
        print(f"monitor {name} watches {args.endpoint}:{args.deployment}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
