"""The `pipelines.scripts.aml_boundary` Protocols backed by the twin: the scripts' Azure boundary in tests.

Every call goes through `aml_client.translated_errors`, the real adapter's translation, so a script sees what it
would see in Azure: the SDK's exception (ResourceNotFoundError, HttpResponseError 403 ...) as the cause of a
`DeploymentError` naming the operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.scripts.aml_client import translated_errors

from .caller import Caller
from .cloud import Cloud
from .model import AzureTwin, Workspace


class TwinAmlClient:
    """One workspace, as `AzureMlClient` addresses it, reached by `caller`; implements every Protocol."""

    def __init__(
        self, twin: AzureTwin, caller: Caller, *, subscription_id: str, resource_group: str, workspace: str
    ) -> None:
        self.cloud = Cloud(twin, caller)
        self._address = (subscription_id, resource_group, workspace)

    def _ws(self, operation: str) -> Workspace:
        return self.cloud.workspace(operation, *self._address)

    # JobsApi
    def submit_job(
        self, spec: Path, *, experiment_name: str | None, overrides: Mapping[str, str] | None = None
    ) -> str:
        with translated_errors(f"submit job {spec}"):
            return self.cloud.submit_job(self._ws("submit job"), spec, experiment_name, overrides or {})

    def job_status(self, name: str) -> str:
        with translated_errors(f"get job {name}"):
            return self.cloud.job(self._ws("get job"), name).status

    def cancel_job(self, name: str) -> None:
        with translated_errors(f"cancel job {name}"):
            self.cloud.job(self._ws("cancel job"), name).status = "Canceled"

    # OnlineEndpointsApi
    def get_traffic(self, endpoint: str) -> dict[str, int]:
        with translated_errors(f"get endpoint {endpoint}"):
            return dict(self.cloud.endpoint(self._ws("get endpoint"), endpoint, "online").traffic)

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int]) -> None:
        with translated_errors(f"set traffic {dict(traffic)} on {endpoint}"):
            self.cloud.set_traffic(self._ws("set traffic"), endpoint, traffic)

    def create_or_update_deployment(
        self, endpoint: str, deployment: str, spec: Path, model: str | None
    ) -> None:
        with translated_errors(f"deploy {deployment} to {endpoint}"):
            self.cloud.deploy(self._ws("deploy"), "online", endpoint, deployment, spec, model)

    def deployment_state(self, endpoint: str, deployment: str) -> str:
        with translated_errors(f"get deployment {deployment} of {endpoint}"):
            ws = self._ws("get deployment")
            return self.cloud.deployment(
                ws, self.cloud.endpoint(ws, endpoint, "online"), deployment
            ).provisioning_state

    def invoke(self, endpoint: str, deployment: str, request_file: Path) -> str:
        with translated_errors(f"invoke {endpoint}/{deployment}"):
            return self.cloud.invoke(self._ws("invoke"), endpoint, deployment, request_file)

    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        with translated_errors(f"delete deployment {deployment} of {endpoint}"):
            self.cloud.delete_deployment(self._ws("delete deployment"), endpoint, deployment)

    # ModelsApi
    def register_model(
        self, *, name: str, path: str, model_type: str, description: str, tags: Mapping[str, str]
    ) -> str:
        with translated_errors(f"register model {name} from {path}"):
            return self.cloud.register_model(self._ws("register model"), name, path, tags)

    def registry_has_model(self, *, registry: str, name: str, version: str) -> bool:
        with translated_errors(f"look up {name}:{version} in registry {registry}"):
            return version in self.cloud.registry("get model", registry).models.get(name, {})

    def registry_model_tags(self, *, registry: str, name: str, version: str) -> dict[str, str] | None:
        with translated_errors(f"look up {name}:{version} in registry {registry}"):
            found = self.cloud.registry("get model", registry).models.get(name, {}).get(version)
        return None if found is None else dict(found)

    def share_model(
        self, *, name: str, version: str, registry: str, registry_name: str, registry_version: str
    ) -> None:
        with translated_errors(f"share model {name}:{version} to registry {registry}"):
            self.cloud.share_model(
                self._ws("share model"), name, version, registry, registry_name, registry_version
            )

    # BatchEndpointsApi
    def create_or_update_batch_deployment(
        self,
        endpoint: str,
        deployment: str,
        spec: Path,
        model: str | None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        with translated_errors(f"deploy {deployment} to {endpoint}"):
            self.cloud.deploy(self._ws("deploy batch"), "batch", endpoint, deployment, spec, model, overrides)

    def invoke_batch(
        self, endpoint: str, deployment: str | None, inputs: Mapping[str, str], input_type: str
    ) -> str:
        with translated_errors(f"invoke batch endpoint {endpoint}"):
            return self.cloud.invoke_batch(self._ws("invoke batch"), endpoint, deployment, inputs, input_type)

    # DiagnosticSettingsApi (ARM: no network check on the workspace, only that it exists)
    def _ws_control_plane(self) -> Workspace:
        return self.cloud.workspace("ARM", *self._address, data_plane=False)

    def online_deployment_names(self, endpoint: str) -> list[str]:
        with translated_errors(f"list deployments of {endpoint}"):
            return sorted(self.cloud.endpoint(self._ws("list deployments"), endpoint, "online").deployments)

    def diagnostic_settings(self, resource_id: str) -> list[dict[str, Any]]:
        with translated_errors(f"GET {resource_id}/providers/Microsoft.Insights/diagnosticSettings"):
            settings = self.cloud.diagnostic_settings(self._ws_control_plane(), resource_id)
        return [{"name": name, "properties": props} for name, props in settings.items()]

    def put_diagnostic_setting(self, resource_id: str, name: str, properties: Mapping[str, Any]) -> None:
        with translated_errors(f"PUT {resource_id}/providers/Microsoft.Insights/diagnosticSettings/{name}"):
            self.cloud.diagnostic_settings(self._ws_control_plane(), resource_id)[name] = dict(properties)

    # WorkspaceAssetsApi
    def managed_network_isolation(self) -> str:
        with translated_errors("get workspace"):
            return self._ws("get workspace").managed_network_isolation

    def provision_managed_network(self) -> None:
        with translated_errors("provision managed network"):
            self._ws("provision managed network")

    def environment_exists(self, name: str, version: str) -> bool:
        with translated_errors(f"get environment {name}:{version}"):
            return version in self._ws("get environment").environments.get(name, [])

    def create_environment(self, spec: Path, *, version: str, conda_file: Path) -> None:
        with translated_errors(f"create environment {spec} version {version}"):
            self.cloud.create_environment(self._ws("create environment"), spec, version, conda_file)

    def _endpoint_settings(self, name: str, kind: str) -> dict[str, Any] | None:
        found = self._ws(f"get {kind} endpoint").endpoints.get(name)
        if found is None or found.kind != kind:
            return None
        state = (
            {"traffic": dict(found.traffic)}
            if kind == "online"
            else {"default_deployment": found.default_deployment}
        )
        return {**found.settings, **state}

    def online_endpoint(self, name: str) -> dict[str, Any] | None:
        with translated_errors(f"get endpoint {name}"):
            return self._endpoint_settings(name, "online")

    def apply_online_endpoint(self, spec: Path, *, traffic: Mapping[str, int]) -> None:
        with translated_errors(f"apply online endpoint {spec}"):
            self.cloud.apply_endpoint(self._ws("apply online endpoint"), "online", spec, traffic=traffic)

    def batch_endpoint(self, name: str) -> dict[str, Any] | None:
        with translated_errors(f"get batch endpoint {name}"):
            return self._endpoint_settings(name, "batch")

    def apply_batch_endpoint(self, spec: Path, *, default_deployment: str | None) -> None:
        with translated_errors(f"apply batch endpoint {spec}"):
            self.cloud.apply_endpoint(
                self._ws("apply batch endpoint"), "batch", spec, default_deployment=default_deployment
            )
