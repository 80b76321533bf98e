"""Step 4, register: register a candidate that passed the gate and point the champion alias at it.

    python -m {{ cookiecutter.package_name }}.register --verdict artifacts/verdict \\
        [--prepared artifacts/prepared --reference-data artifacts/reference] [--triggering-event-id <id>]

Aliases, never stages (MLflow 3 has no stages). Refuses a rejected verdict, and a verdict made
against a champion that has since changed: the comparison no longer holds, so evaluate again.
The new version carries the gate's metrics (`gate.*`) and its provenance (`governance.*`: git commit,
pipeline run, training run, data version, and the Event Grid event that queued a retraining), so the
registry alone says where a model came from. With `--reference-data`, the new champion's training split
is written there as an MLTable: the model monitor's reference (see reference.py).
"""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from {{ cookiecutter.package_name }} import cli, governance, reference
from {{ cookiecutter.package_name }}.errors import GateRejectedError, StaleVerdictError
from {{ cookiecutter.package_name }}.evaluate import champion_version
from {{ cookiecutter.package_name }}.handoff import Registration, Verdict
from {{ cookiecutter.package_name }}.settings import CHAMPION_ALIAS, MODEL_NAME, WORKDIR


def register(verdict: Verdict, model_name: str = MODEL_NAME, *, triggering_event: str = "") -> ModelVersion:
    """Register the verdict's model as a new version of `model_name` and make it the champion.

    `triggering_event` is the ID of the Event Grid event (a monitor breach) that queued this retraining, if any.
    """
    if not verdict.passed:
        raise GateRejectedError(
            f"{verdict.model_uri} was rejected by the gate ({'; '.join(verdict.failures)}): not registered"
        )
    current = champion_version(model_name)
    if current != verdict.champion_version:
        raise StaleVerdictError(
            f"{model_name}@{CHAMPION_ALIAS} is version {current} now, but the gate compared against "
            f"version {verdict.champion_version}: evaluate the candidate again"
        )
    gate_metrics = {f"gate.{name}": f"{value:.6g}" for name, value in verdict.candidate_metrics.items()}
    version = mlflow.register_model(verdict.model_uri, model_name, tags=gate_metrics)
    client = MlflowClient()
    tags = _provenance(client, version).tags() | governance.triggering_event_tags(triggering_event)
    governance.set_tags(client, model_name, str(version.version), tags)
    client.set_registered_model_alias(model_name, CHAMPION_ALIAS, version.version)
    if verdict.champion_version is not None:
        client.set_model_version_tag(
            model_name, version.version, "replaced_champion", verdict.champion_version
        )
    return version


def _provenance(client: MlflowClient, version: ModelVersion) -> governance.Provenance:
    if version.run_id:
        return governance.provenance_of(client.get_run(version.run_id))
    # A model registered from a path rather than a run: only the CI context is known.
    unknown = governance.NOT_RECORDED
    return governance.Provenance(unknown, governance.pipeline_run_url() or unknown, unknown, unknown)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--verdict", type=Path, default=WORKDIR / "verdict", help="evaluate's output folder")
    parser.add_argument("--model-name", default=MODEL_NAME, help="registered model name")
    parser.add_argument(
        "--output", type=Path, default=WORKDIR / "registered", help="where registered.json goes"
    )
    parser.add_argument("--prepared", type=Path, default=None, help="prep's output (the training split)")
    parser.add_argument(
        "--reference-data", type=Path, default=None, help="with --prepared: where the monitor's MLTable goes"
    )
    parser.add_argument(
        "--triggering-event-id",
        default="",
        help=f"the Event Grid event that queued this retraining ('{governance.NO_EVENT}' or empty: none)",
    )
    args = parser.parse_args(argv)
    if (args.prepared is None) != (args.reference_data is None):
        parser.error("--prepared and --reference-data go together")

    def step() -> int:
        verdict = Verdict.read(args.verdict)
        version = register(verdict, args.model_name, triggering_event=args.triggering_event_id)
        Registration(args.model_name, str(version.version), verdict.model_uri).write(args.output)
        print(f"registered {args.model_name} version {version.version} as @{CHAMPION_ALIAS}")
        if args.reference_data is not None:
            print(f"reference data: {reference.write_mltable(args.prepared, args.reference_data)}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
