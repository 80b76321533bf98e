"""What this example needs from Azure beyond pipelines/scripts/aml_boundary.py, behind Protocols too.

The flow talks to Azure only through `aml_boundary`'s Protocols (jobs, online and batch endpoints, models)
and the two below; `AzureE2EClient` implements all of them on `azure-ai-ml` (reusing the scripts' adapter)
and MLflow, and the tests pass fakes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pipelines.scripts.aml_boundary import BatchEndpointsApi, JobsApi, ModelsApi, OnlineEndpointsApi
from pipelines.scripts.aml_client import AzureMlClient, translated_errors


class AssetsApi(Protocol):
    """Workspace assets the training pipeline and the deployments need to exist first."""

    def create_or_update_environment(self, spec: Path) -> str:
        """Register the environment YAML at `spec`; return `name:version`."""
        ...

    def ensure_online_endpoint(self, spec: Path) -> None:
        """Create the managed online endpoint in `spec` if missing (existing traffic is left alone)."""
        ...

    def ensure_batch_endpoint(self, spec: Path) -> None:
        """Create the batch endpoint in `spec` if missing."""
        ...


class ChampionApi(Protocol):
    """The workspace's MLflow model registry, as the project's register step left it."""

    def champion(self, model: str) -> tuple[str, str] | None:
        """(version, run_id) that `@champion` points at, or None when there is no champion."""
        ...


class AzureApis(JobsApi, OnlineEndpointsApi, ModelsApi, BatchEndpointsApi, AssetsApi, ChampionApi, Protocol):
    """Everything the flow calls: what `AzureE2EClient` implements and a test fake must too."""


class AzureE2EClient(AzureMlClient):
    """The scripts' `AzureMlClient` plus AssetsApi on `azure-ai-ml` and ChampionApi on MLflow."""

    def __init__(
        self, *, subscription_id: str, resource_group: str, workspace: str, tracking_uri: str
    ) -> None:
        super().__init__(subscription_id=subscription_id, resource_group=resource_group, workspace=workspace)
        self._tracking_uri = tracking_uri

    def create_or_update_environment(self, spec: Path) -> str:
        from azure.ai.ml import load_environment

        with translated_errors(f"register environment {spec}"):
            environment = self._ml.environments.create_or_update(load_environment(source=spec))
        return f"{environment.name}:{environment.version}"

    def _ensure(self, load: Any, operations: Any, spec: Path) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        entity = load(source=spec)
        with translated_errors(f"create endpoint {entity.name}"):
            try:
                operations.get(entity.name)
            except ResourceNotFoundError:
                operations.begin_create_or_update(entity).result()

    def ensure_online_endpoint(self, spec: Path) -> None:
        from azure.ai.ml import load_online_endpoint

        self._ensure(load_online_endpoint, self._ml.online_endpoints, spec)

    def ensure_batch_endpoint(self, spec: Path) -> None:
        from azure.ai.ml import load_batch_endpoint

        self._ensure(load_batch_endpoint, self._ml.batch_endpoints, spec)

    def champion(self, model: str) -> tuple[str, str] | None:
        # azureml-mlflow registers the azureml:// scheme with MLflow: the client then talks to the workspace.
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        try:
            version = MlflowClient(tracking_uri=self._tracking_uri).get_model_version_by_alias(
                model, "champion"
            )
        except MlflowException as err:
            if err.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return str(version.version), str(version.run_id)
