"""Promote a model version from the dev workspace into the Azure ML registry, unchanged.

    python -m {{ cookiecutter.package_name }}.promote --version 3 [--registry {{ cookiecutter.aml_registry }}]
    python -m {{ cookiecutter.package_name }}.promote --from-job <training job> --approved-by <who> \\
        --git-commit <sha> --pipeline-run <url> --training-job <training job>      # what CD runs

Prod never retrains: it deploys `azureml://registries/<registry>/models/<name>/versions/<v>`, the
very artifact that passed the gate in dev. The registry copy keeps the dev version number, so one
number names the model everywhere. Before sharing, the workspace version gets the governance tags CD knows
for certain (commit, pipeline run, training job) and, after the promotion approval, who approved it and
when; the registry copy is made from the tagged version. Publishes `modelVersion` and `registryModelUri`
as pipeline outputs. Needs the `azure` extra and an identity with write access to the registry (in an
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

from {{ cookiecutter.package_name }} import cli, governance
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.handoff import Registration
from {{ cookiecutter.package_name }}.settings import MODEL_NAME

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

REGISTRY_NAME = "{{ cookiecutter.aml_registry }}"
REGISTERED_OUTPUT = "registered"
"""The training pipeline's output holding registered.json (aml/pipeline.yml)."""

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


def registry_model_uri(name: str, version: str, registry: str = REGISTRY_NAME) -> str:
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


def registration_from_job(client: MLClient, job_name: str, download_dir: Path) -> Registration:
    """The version a training job registered, read from its `registered` output."""
    client.jobs.download(name=job_name, output_name=REGISTERED_OUTPUT, download_path=str(download_dir))
    # The SDK nests named outputs (named-outputs/<name>/); find the file rather than rely on the layout.
    found = sorted(download_dir.rglob(Registration.FILE))
    if not found:
        raise RegistrationNotFoundError(
            f"job {job_name} has no {Registration.FILE} in its {REGISTERED_OUTPUT!r} output: "
            "its gate rejected the candidate, or it is not a run of aml/pipeline.yml"
        )
    return Registration.read(found[0].parent)


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


def _registry_has(credential: Any, registry: str, name: str, version: str) -> bool:
    from azure.ai.ml import MLClient
    from azure.core.exceptions import ResourceNotFoundError

    try:
        MLClient(credential, registry_name=registry).models.get(name=name, version=version)
    except ResourceNotFoundError:
        return False
    return True


def _tracking_client(client: MLClient, workspace: str) -> MlflowClient:
    # Inside an Azure ML job MLFLOW_TRACKING_URI is already the workspace's; on a CI agent ask the workspace.
    uri = os.environ.get("MLFLOW_TRACKING_URI") or client.workspaces.get(workspace).mlflow_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    parser.add_argument("--model-name", default=MODEL_NAME)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--version", help="the workspace model version that passed the gate")
    source.add_argument(
        "--from-job", help="the training job (aml/pipeline.yml) whose registered version to promote"
    )
    parser.add_argument("--registry", default=REGISTRY_NAME)
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
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential

        settings = workspace_settings(args, dict(os.environ))
        credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
        client = MLClient(
            credential,
            subscription_id=settings["subscription"],
            resource_group_name=settings["resource_group"],
            workspace_name=settings["workspace"],
        )
        version = args.version
        if version is None:
            with tempfile.TemporaryDirectory() as download_dir:
                version = registration_from_job(client, args.from_job, Path(download_dir)).version
        uri = promote(
            client,
            args.model_name,
            version,
            args.registry,
            tracking=_tracking_client(client, settings["workspace"]),
            tags=governance_tags(args),
            already_shared=_registry_has(credential, args.registry, args.model_name, version),
        )
        print(f"promoted to {uri}")
        cli.publish_outputs({"modelVersion": version, "registryModelUri": uri})
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
