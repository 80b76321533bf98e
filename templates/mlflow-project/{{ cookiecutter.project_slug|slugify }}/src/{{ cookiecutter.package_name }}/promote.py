"""Promote a model version from the dev workspace into the Azure ML registry, unchanged.

    python -m {{ cookiecutter.package_name }}.promote --version 3 [--registry <amlRegistryName>]
    python -m {{ cookiecutter.package_name }}.promote --from-job <training job> --approved-by <who> \\
        --git-commit <sha> --pipeline-run <url> --training-job <training job>      # what CD runs

Prod never retrains: it deploys `azureml://registries/<registry>/models/<name>/versions/<v>`, the
very artifact that passed the gate in dev. The registry copy keeps the dev version number, so one
number names the model everywhere. Before sharing, the workspace version gets the governance tags CD knows
for certain (commit, pipeline run, training job) and, after the promotion approval, who approved it and
when; the registry copy is made from the tagged version. With `--from-job`, the training job's reference
table (the monitor's training data, reference.py) is copied into the registry first, as
`{{ cookiecutter.project_slug }}-training-data` at the model's version, and the version is tagged with its URI. Publishes
`modelVersion`, `registryModelUri` and `referenceDataUri` as pipeline outputs. Needs the `azure` extra and an identity with write access to the registry (in an
Azure ML job: the compute's managed identity; see aml/promote.yml).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import aml_clients, cli, governance, reference
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.handoff import Registration
from {{ cookiecutter.package_name }}.settings import MODEL_NAME

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

REGISTRY_VARIABLE = "AML_REGISTRY_NAME"
"""The variable (from the platform's stack output amlRegistryName) that names the registry when --registry is not given."""
SOURCE_RUN = "governance.source_run"
"""Tag of a promoted version: the MLflow run that produced it. The registry copy keeps its tags, so a registry
version can be traced to exactly one run, and a rebuilt dev workspace (versions from 1 again) cannot pass an
old registry version off as its new model."""
REGISTERED_OUTPUT = "registered"
"""The training pipeline's output holding registered.json (aml/pipeline.yml)."""
TRAINING_DATA_OUTPUT = "training_data"
"""The training pipeline's output holding the new champion's reference MLTable (aml/pipeline.yml)."""

# Flag -> environment variable Azure ML sets inside every job, so the job spec passes no secrets or IDs.
WORKSPACE_SETTINGS = {
    "subscription": "AZUREML_ARM_SUBSCRIPTION",
    "resource_group": "AZUREML_ARM_RESOURCEGROUP",
    "workspace": "AZUREML_ARM_WORKSPACE_NAME",
}
# Flag -> governance tag it overrides on the workspace version.
PROVENANCE_FLAGS = {
    "git_commit": governance.GIT_COMMIT,
    "pipeline_run": governance.PIPELINE_RUN,
    "training_job": governance.TRAINING_JOB,
}


class WorkspaceNotConfiguredError(ProjectError):
    """Raised when the workspace to promote from is given neither by flag nor by environment."""


class RegistrationNotFoundError(ProjectError):
    """Raised when a training job's `registered` output holds no registered.json (the gate rejected it)."""


class RegistryVersionConflictError(ProjectError):
    """Raised when the registry already holds the version to promote, but made from another training run."""


class ReferenceDataNotFoundError(ProjectError):
    """Raised when a training job's `training_data` output holds no MLTable (not a run of aml/pipeline.yml)."""


def registry_model_uri(name: str, version: str, registry: str) -> str:
    """What prod deployments reference.

    >>> registry_model_uri("{{ cookiecutter.project_slug }}", "3", "shared")
    'azureml://registries/shared/models/{{ cookiecutter.project_slug }}/versions/3'
    """
    return f"azureml://registries/{registry}/models/{name}/versions/{version}"


def workspace_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for key, variable in WORKSPACE_SETTINGS.items():
        value = getattr(args, key) or environ.get(variable)
        if not value:
            flag = "--" + key.replace("_", "-")
            raise WorkspaceNotConfiguredError(f"workspace {key} is not set: pass {flag} or set {variable}")
        settings[key] = value
    return settings


def _output_folder(
    client: MLClient, job_name: str, output: str, file: str, download_dir: Path, missing: ProjectError
) -> Path:
    """Download a job's named output; return the folder in it that holds `file`, or raise `missing`."""
    download_dir.mkdir(parents=True, exist_ok=True)
    client.jobs.download(name=job_name, output_name=output, download_path=str(download_dir))
    # The SDK nests named outputs (named-outputs/<name>/); find the file rather than rely on the layout.
    found = sorted(download_dir.rglob(file))
    if not found:
        raise missing
    return found[0].parent


def registration_from_job(client: MLClient, job_name: str, download_dir: Path) -> Registration:
    """The version a training job registered, read from its `registered` output."""
    missing = RegistrationNotFoundError(
        f"job {job_name} has no {Registration.FILE} in its {REGISTERED_OUTPUT!r} output: "
        "its gate rejected the candidate, or it is not a run of aml/pipeline.yml"
    )
    return Registration.read(
        _output_folder(client, job_name, REGISTERED_OUTPUT, Registration.FILE, download_dir, missing)
    )


def reference_table_from_job(client: MLClient, job_name: str, download_dir: Path) -> Path:
    """The folder holding the MLTable that a training job's `register` step wrote."""
    missing = ReferenceDataNotFoundError(
        f"job {job_name} has no {reference.MLTABLE_FILE} in its {TRAINING_DATA_OUTPUT!r} output: "
        "it is not a run of aml/pipeline.yml that passed the gate"
    )
    return _output_folder(
        client, job_name, TRAINING_DATA_OUTPUT, reference.MLTABLE_FILE, download_dir, missing
    )


def promote_reference_data(
    registry_data: Any, table: Path, registry: str, version: str, *, exists: bool
) -> str:
    """Create the reference data `version` in the registry from the local MLTable folder `table` (immutable:
    skipped when it `exists`); return its URI."""
    if not exists:
        from azure.ai.ml.entities import Data

        registry_data.create_or_update(
            Data(
                name=reference.REFERENCE_DATA_NAME,
                version=version,
                type="mltable",
                path=str(table),
                description=f"Training split of {MODEL_NAME} version {version}: the model monitor's reference.",
            )
        )
    return reference.registry_data_uri(registry, version)


def governance_tags(args: argparse.Namespace) -> dict[str, str]:
    """The provenance flags that were given, plus the approval when an approver was named."""
    tags = {tag: getattr(args, flag) for flag, tag in PROVENANCE_FLAGS.items() if getattr(args, flag)}
    if args.approved_by:
        tags |= governance.approval_tags(args.approved_by)
    return tags


def promote(
    client: MLClient,
    name: str,
    version: str,
    registry: str,
    *,
    tracking: MlflowClient | None = None,
    tags: Mapping[str, str] | None = None,
    already_shared: bool = False,
) -> str:
    """Tag workspace model `name:version`, then copy it into `registry` under the same name and version.

    `already_shared` (a re-run after the copy was made) skips the copy: registry versions are immutable.
    """
    if tags:
        governance.set_tags(tracking or MlflowClient(), name, version, tags)
    if not already_shared:
        client.models.share(
            name=name,
            version=version,
            registry_name=registry,
            share_with_name=name,
            share_with_version=version,
        )
    return registry_model_uri(name, version, registry)


def _registry_has(operations: Any, name: str, version: str) -> bool:
    return _registry_model(operations, name, version) is not None


def _registry_model(operations: Any, name: str, version: str) -> Any:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return operations.get(name=name, version=version)
    except ResourceNotFoundError:
        return None


def already_shared(existing: Any, name: str, version: str, registry: str, candidate_run: str) -> bool:
    """Whether the registry's `name:version` (`existing`, None when absent) is the candidate's own copy.

    A copy made from another run is refused: registry versions are immutable, so skipping the share would
    deploy that other model as this one.
    """
    if existing is None:
        return False
    found = (existing.tags or {}).get(SOURCE_RUN) or getattr(existing, "job_name", None)
    if found != candidate_run:
        raise RegistryVersionConflictError(
            f"registry {registry} already has {name}:{version} from run {found or 'unknown'}, but the candidate "
            f"{name}:{version} in the workspace comes from run {candidate_run}: the dev workspace's versions "
            "restarted (a rebuilt workspace?). Registry versions are immutable: check the registry's copy, then "
            "archive it or promote under a new version"
        )
    return True


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    parser.add_argument("--model-name", default=MODEL_NAME)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--version", help="the workspace model version that passed the gate")
    source.add_argument(
        "--from-job", help="the training job (aml/pipeline.yml) whose registered version to promote"
    )
    parser.add_argument(
        "--registry", default=os.environ.get(REGISTRY_VARIABLE, ""), help=f"default: ${REGISTRY_VARIABLE}"
    )
    parser.add_argument(
        "--approved-by", default="", help="who approved the promotion (pipeline requester/actor)"
    )
    parser.add_argument("--git-commit", default="", help="commit the model was trained from")
    parser.add_argument("--pipeline-run", default="", help="URL of the pipeline run (default: from the CI)")
    parser.add_argument("--training-job", default="", help="Azure ML job that trained the model")
    for key in WORKSPACE_SETTINGS:
        parser.add_argument("--" + key.replace("_", "-"), dest=key, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.pipeline_run = args.pipeline_run or governance.pipeline_run_url() or ""

    def step() -> int:
        if not args.registry:
            raise WorkspaceNotConfiguredError(
                f"the registry is not set: pass --registry or set {REGISTRY_VARIABLE} (stack output amlRegistryName)"
            )
        settings = workspace_settings(args, dict(os.environ))
        clients = aml_clients.from_args(settings, registry=args.registry, tracking=True)
        client, registry, tracking = clients.workspace, clients.registry, clients.tracking
        assert registry is not None and tracking is not None  # asked for both above
        tags = governance_tags(args)
        outputs: dict[str, str] = {}
        with tempfile.TemporaryDirectory() as download_dir:
            folder = Path(download_dir)
            version = (
                args.version or registration_from_job(client, args.from_job, folder / "registered").version
            )
            # Before anything is written: a registry version made from another run stops the promotion here.
            candidate_run = tracking.get_model_version(args.model_name, version).run_id
            existing = _registry_model(registry.models, args.model_name, version)
            shared = already_shared(existing, args.model_name, version, args.registry, candidate_run)
            tags[SOURCE_RUN] = candidate_run
            if args.from_job:
                table = reference_table_from_job(client, args.from_job, folder / "reference")
                exists = _registry_has(registry.data, reference.REFERENCE_DATA_NAME, version)
                data_uri = promote_reference_data(registry.data, table, args.registry, version, exists=exists)
                tags[governance.REFERENCE_DATA] = outputs["referenceDataUri"] = data_uri
                print(f"reference data at {data_uri}")
        uri = promote(
            client,
            args.model_name,
            version,
            args.registry,
            tracking=tracking,
            tags=tags,
            already_shared=shared,
        )
        print(f"promoted to {uri}")
        cli.publish_outputs({"modelVersion": version, "registryModelUri": uri, **outputs})
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
