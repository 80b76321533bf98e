"""The typed boundary between the scripts and Azure ML.

Scripts depend on these Protocols only. `aml_client.AzureMlClient` implements them with `azure-ai-ml`'s
`MLClient`; tests implement them with in-memory fakes. Implementations raise `TransientAzureError` for
retryable failures and `DeploymentError` for everything else, never SDK exceptions.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


class JobsApi(Protocol):
    """Azure ML jobs in one workspace."""

    def submit_job(
        self, spec: Path, *, experiment_name: str | None, overrides: Mapping[str, str] | None = None
    ) -> str:
        """Submit the CLI v2 job YAML at `spec`, with `overrides` (dotted path to value) applied; return its name."""
        ...

    def job_status(self, name: str) -> str:
        """Return the job's status string (`Running`, `Completed`, `Failed`, `Canceled`, ...)."""
        ...

    def cancel_job(self, name: str) -> None:
        """Request cancellation of a running job."""
        ...


class OnlineEndpointsApi(Protocol):
    """One workspace's managed online endpoints and their deployments."""

    def get_traffic(self, endpoint: str) -> dict[str, int]:
        """Return the endpoint's traffic split, deployment name to percent."""
        ...

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int]) -> None:
        """Set the traffic split and wait until the endpoint has applied it."""
        ...

    def create_or_update_deployment(
        self, endpoint: str, deployment: str, spec: Path, model: str | None
    ) -> None:
        """Create or replace `deployment` from YAML at `spec` (its `model:` replaced by `model` if given)."""
        ...

    def deployment_state(self, endpoint: str, deployment: str) -> str:
        """Return the deployment's provisioning state (`Succeeded`, `Failed`, `Updating`, ...)."""
        ...

    def invoke(self, endpoint: str, deployment: str, request_file: Path) -> str:
        """Score `request_file` against one deployment, bypassing the traffic split; return the body."""
        ...

    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        """Delete a deployment that receives no traffic."""
        ...


class ModelsApi(Protocol):
    """Models in a workspace and in an Azure ML registry."""

    def register_model(
        self, *, name: str, path: str, model_type: str, description: str, tags: Mapping[str, str]
    ) -> str:
        """Register a model version in the workspace from `path`; return the new version."""
        ...

    def registry_model_tags(self, *, registry: str, name: str, version: str) -> dict[str, str] | None:
        """The tags of `name` at `version` in `registry`, or None when the registry has no such version."""
        ...

    def share_model(
        self, *, name: str, version: str, registry: str, registry_name: str, registry_version: str
    ) -> None:
        """Copy a workspace model version into `registry` as `registry_name`:`registry_version`."""
        ...


class BatchEndpointsApi(Protocol):
    """One workspace's batch endpoints and their deployments."""

    def create_or_update_batch_deployment(
        self,
        endpoint: str,
        deployment: str,
        spec: Path,
        model: str | None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        """Create or replace `deployment` from `spec` (optionally with `model` and dotted-path `overrides` of the
        spec, e.g. `resources.instance_count`); make it the default."""
        ...

    def invoke_batch(
        self, endpoint: str, deployment: str | None, inputs: Mapping[str, str], input_type: str
    ) -> str:
        """Start a batch scoring job over `inputs` (name to data URI) of `input_type`; return its name."""
        ...


class DiagnosticSettingsApi(Protocol):
    """Azure Monitor diagnostic settings of a workspace's online endpoints and their deployments."""

    def online_deployment_names(self, endpoint: str) -> list[str]:
        """Names of the endpoint's deployments."""
        ...

    def diagnostic_settings(self, resource_id: str) -> list[dict[str, Any]]:
        """The resource's diagnostic settings as ARM returns them (`name`, `properties`)."""
        ...

    def put_diagnostic_setting(self, resource_id: str, name: str, properties: Mapping[str, Any]) -> None:
        """Create or replace the diagnostic setting `name` of the resource."""
        ...


class WorkspaceAssetsApi(Protocol):
    """What CD creates or updates in a workspace before it trains or deploys (`aml_assets`)."""

    def managed_network_isolation(self) -> str:
        """The workspace's managed network isolation mode (`Disabled`, `AllowInternetOutbound`, ...)."""
        ...

    def provision_managed_network(self) -> None:
        """Provision the managed network now (idempotent), so no compute or deployment waits for it."""
        ...

    def environment_exists(self, name: str, version: str) -> bool:
        """Whether environment `name` has `version` (versions are immutable once registered)."""
        ...

    def create_environment(self, spec: Path, *, version: str, conda_file: Path) -> None:
        """Register the environment YAML at `spec` as `version`, built from `conda_file`."""
        ...

    def online_endpoint(self, name: str) -> dict[str, Any] | None:
        """The endpoint's settings (`auth_mode`, `public_network_access`, `description`, `tags`, `traffic`)."""
        ...

    def apply_online_endpoint(self, spec: Path, *, traffic: Mapping[str, int]) -> None:
        """Create or update the endpoint from `spec`, with `traffic` as its split (an update keeps it)."""
        ...

    def batch_endpoint(self, name: str) -> dict[str, Any] | None:
        """The batch endpoint's settings (`description`, `tags`, `default_deployment`), None if absent."""
        ...

    def apply_batch_endpoint(self, spec: Path, *, default_deployment: str | None) -> None:
        """Create or update the batch endpoint from `spec`, keeping `default_deployment`."""
        ...
