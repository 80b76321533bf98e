"""`azure-ai-ml` implementation of `aml_boundary.WorkspaceAssetsApi` (managed network, environment, endpoints)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.scripts.aml_client import AzureMlClient, translated_errors


class AzureMlAssetsClient(AzureMlClient):
    """One workspace's managed network, environments and endpoints, through `MLClient`."""

    def managed_network_isolation(self) -> str:
        with translated_errors(f"get workspace {self._workspace}"):
            network = self._ml.workspaces.get(self._workspace).managed_network
        return str(getattr(network, "isolation_mode", None) or "Disabled")

    def provision_managed_network(self) -> None:
        with translated_errors(f"provision the managed network of {self._workspace}"):
            self._ml.workspaces.begin_provision_network(
                workspace_name=self._workspace, include_spark=False
            ).result()

    def environment_exists(self, name: str, version: str) -> bool:
        from azure.core.exceptions import ResourceNotFoundError

        with translated_errors(f"look up environment {name}:{version}"):
            try:
                self._ml.environments.get(name=name, version=version)
            except ResourceNotFoundError:
                return False
        return True

    def create_environment(self, spec: Path, *, version: str, conda_file: Path) -> None:
        from azure.ai.ml import load_environment

        with translated_errors(f"register environment {spec} as {version}"):
            environment = load_environment(source=spec)
            environment.version = version
            environment.conda_file = str(conda_file)
            self._ml.environments.create_or_update(environment)

    def online_endpoint(self, name: str) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        with translated_errors(f"get online endpoint {name}"):
            try:
                endpoint = self._ml.online_endpoints.get(name)
            except ResourceNotFoundError:
                return None
        return {
            "description": endpoint.description or "",
            "auth_mode": str(endpoint.auth_mode or "").lower(),
            "public_network_access": str(endpoint.public_network_access or "").lower(),
            "tags": dict(endpoint.tags or {}),
            "traffic": {key: int(value) for key, value in (endpoint.traffic or {}).items()},
        }

    def apply_online_endpoint(self, spec: Path, *, traffic: Mapping[str, int]) -> None:
        from azure.ai.ml import load_online_endpoint

        with translated_errors(f"create or update online endpoint from {spec}"):
            endpoint = load_online_endpoint(source=spec)
            endpoint.traffic = dict(traffic)
            self._ml.online_endpoints.begin_create_or_update(endpoint).result()

    def batch_endpoint(self, name: str) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        with translated_errors(f"get batch endpoint {name}"):
            try:
                endpoint = self._ml.batch_endpoints.get(name)
            except ResourceNotFoundError:
                return None
        defaults = endpoint.defaults
        return {
            "description": endpoint.description or "",
            "tags": dict(endpoint.tags or {}),
            "default_deployment": getattr(defaults, "deployment_name", None) if defaults else None,
        }

    def apply_batch_endpoint(self, spec: Path, *, default_deployment: str | None) -> None:
        from azure.ai.ml import load_batch_endpoint

        with translated_errors(f"create or update batch endpoint from {spec}"):
            endpoint = load_batch_endpoint(source=spec)
            if default_deployment:
                endpoint.defaults = {"deployment_name": default_deployment}
            self._ml.batch_endpoints.begin_create_or_update(endpoint).result()


def from_args(args: Any) -> AzureMlAssetsClient:
    """Build the client from the parsed `add_workspace_arguments` arguments."""
    return AzureMlAssetsClient(
        subscription_id=args.subscription_id, resource_group=args.resource_group, workspace=args.workspace
    )
