"""Promote a model version from the dev workspace into the Azure ML registry, unchanged.

    python -m {{ cookiecutter.package_name }}.promote --version 3 [--registry {{ cookiecutter.aml_registry }}]

Prod never retrains: it deploys `azureml://registries/<registry>/models/<name>/versions/<v>`, the
very artifact that passed the gate in dev. The registry copy keeps the dev version number, so one
number names the model everywhere. Needs the `azure` extra and an identity with write access to the
registry (in an Azure ML job: the compute's managed identity; see aml/promote.yml).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.settings import MODEL_NAME

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

REGISTRY_NAME = "{{ cookiecutter.aml_registry }}"

# Flag -> environment variable Azure ML sets inside every job, so the job spec passes no secrets or IDs.
WORKSPACE_SETTINGS = {
    "subscription": "AZUREML_ARM_SUBSCRIPTION",
    "resource_group": "AZUREML_ARM_RESOURCEGROUP",
    "workspace": "AZUREML_ARM_WORKSPACE_NAME",
}


class WorkspaceNotConfiguredError(ProjectError):
    """Raised when the workspace to promote from is given neither by flag nor by environment."""


def registry_model_uri(name: str, version: str, registry: str = REGISTRY_NAME) -> str:
    """What prod deployments reference.

    >>> registry_model_uri("{{ cookiecutter.project_slug }}", "3", "shared")
    'azureml://registries/shared/models/{{ cookiecutter.project_slug }}/versions/3'
    """
    return f"azureml://registries/{registry}/models/{name}/versions/{version}"


def workspace_settings(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for key, variable in WORKSPACE_SETTINGS.items():
        value = getattr(args, key) or environ.get(variable)
        if not value:
            flag = "--" + key.replace("_", "-")
            raise WorkspaceNotConfiguredError(f"workspace {key} is not set: pass {flag} or set {variable}")
        settings[key] = value
    return settings


def promote(client: MLClient, name: str, version: str, registry: str) -> str:
    """Copy workspace model `name:version` into `registry` under the same name and version."""
    client.models.share(
        name=name, version=version, registry_name=registry, share_with_name=name, share_with_version=version
    )
    return registry_model_uri(name, version, registry)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--model-name", default=MODEL_NAME)
    parser.add_argument("--version", required=True, help="the workspace model version that passed the gate")
    parser.add_argument("--registry", default=REGISTRY_NAME)
    for key in WORKSPACE_SETTINGS:
        parser.add_argument("--" + key.replace("_", "-"), dest=key, default=None)
    args = parser.parse_args(argv)

    def step() -> int:
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential

        settings = workspace_settings(args, dict(os.environ))
        client = MLClient(
            DefaultAzureCredential(),
            subscription_id=settings["subscription"],
            resource_group_name=settings["resource_group"],
            workspace_name=settings["workspace"],
        )
        print(f"promoted to {promote(client, args.model_name, args.version, args.registry)}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
