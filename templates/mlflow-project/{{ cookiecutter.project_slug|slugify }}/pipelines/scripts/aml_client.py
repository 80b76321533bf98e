"""`azure-ai-ml` implementation of the `aml_boundary` Protocols.

Under AzureCLI@2 the Azure CLI is signed in with the service connection's federated identity, so
`DefaultAzureCredential` resolves to the CLI credential: no client secret exists anywhere. SDK imports are
deferred to first use because `azure.ai.ml` takes seconds to import and the unit tests never need it.
"""

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from pipelines.scripts.errors import DeploymentError, TransientAzureError

logger = logging.getLogger(__name__)

# HTTP statuses that mean "try again": throttling and server-side failures.
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
ARM_ENDPOINT = "https://management.azure.com"
DIAGNOSTIC_SETTINGS_API_VERSION = "2021-05-01-preview"
"""Microsoft.Insights/diagnosticSettings: the version `az monitor diagnostic-settings` uses."""


@contextmanager
def translated_errors(operation: str) -> Iterator[None]:
    """Re-raise SDK exceptions from `operation` as this package's `TransientAzureError`/`DeploymentError`."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as err:
        msg = f"{operation}: connection problem: {err}"
        raise TransientAzureError(msg) from err
    except HttpResponseError as err:
        status = err.status_code
        if status in _RETRYABLE_STATUS:
            msg = f"{operation}: HTTP {status} (retryable): {err.message}"
            raise TransientAzureError(msg) from err
        msg = f"{operation}: HTTP {status}: {err.message}"
        raise DeploymentError(msg) from err
    except Exception as err:
        # azure-ai-ml raises its own ValidationException/MlException for bad YAML and failed LROs.
        if type(err).__module__.startswith("azure."):
            msg = f"{operation}: {type(err).__name__}: {err}"
            raise DeploymentError(msg) from err
        raise


def load_job_spec(spec: Path, overrides: Mapping[str, str] | None = None) -> Any:
    """The job YAML at `spec` through the SDK's own loader, each dotted-path override applied first."""
    from azure.ai.ml import load_job

    return load_job(source=spec, params_override=[{path: value} for path, value in (overrides or {}).items()])


def _overrides(
    endpoint: str, deployment: str, model: str | None, extra: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    # The YAML stays environment-neutral: names, the promoted model version and the stack's sizes come from the
    # pipeline.
    overrides = [{"name": deployment}, {"endpoint_name": endpoint}]
    if model:
        overrides.append({"model": model})
    return overrides + [{path: value} for path, value in (extra or {}).items()]


class AzureMlClient:
    """One Azure ML workspace, reached through `MLClient`; implements every `aml_boundary` Protocol."""

    def __init__(self, *, subscription_id: str, resource_group: str, workspace: str) -> None:
        self._subscription_id = subscription_id
        self._resource_group = resource_group
        self._workspace = workspace

    @cached_property
    def _credential(self) -> Any:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(exclude_interactive_browser_credential=True)

    @cached_property
    def _ml(self) -> Any:
        from azure.ai.ml import MLClient

        return MLClient(self._credential, self._subscription_id, self._resource_group, self._workspace)

    @cached_property
    def _arm(self) -> Any:
        # Plain ARM REST for what azure-ai-ml does not cover (diagnostic settings), on azure-core, which the SDK
        # already brings: no azure-mgmt-monitor dependency for one PUT.
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy

        scope = f"{ARM_ENDPOINT}/.default"
        return PipelineClient(
            base_url=ARM_ENDPOINT,
            policies=[RetryPolicy(), BearerTokenCredentialPolicy(self._credential, scope)],
        )

    def _arm_json(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        from azure.core.rest import HttpRequest

        request = HttpRequest(
            method,
            f"{ARM_ENDPOINT}{path}",
            params={"api-version": DIAGNOSTIC_SETTINGS_API_VERSION},
            json=body,
        )
        with translated_errors(f"{method} {path}"):
            response = self._arm.send_request(request)
            response.raise_for_status()
        return response.json() if response.text() else {}

    # JobsApi
    def submit_job(
        self, spec: Path, *, experiment_name: str | None, overrides: Mapping[str, str] | None = None
    ) -> str:
        with translated_errors(f"submit job {spec}"):
            job = self._ml.jobs.create_or_update(
                load_job_spec(spec, overrides), experiment_name=experiment_name
            )
        return str(job.name)

    def job_status(self, name: str) -> str:
        with translated_errors(f"get job {name}"):
            return str(self._ml.jobs.get(name).status)

    def cancel_job(self, name: str) -> None:
        with translated_errors(f"cancel job {name}"):
            self._ml.jobs.begin_cancel(name).result()

    # OnlineEndpointsApi
    def get_traffic(self, endpoint: str) -> dict[str, int]:
        with translated_errors(f"get endpoint {endpoint}"):
            traffic = self._ml.online_endpoints.get(endpoint).traffic or {}
        return {name: int(percent) for name, percent in traffic.items()}

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int]) -> None:
        with translated_errors(f"set traffic {dict(traffic)} on {endpoint}"):
            entity = self._ml.online_endpoints.get(endpoint)
            entity.traffic = dict(traffic)
            self._ml.online_endpoints.begin_create_or_update(entity).result()

    def _deploy(
        self,
        load: Any,
        operations: Any,
        endpoint: str,
        deployment: str,
        spec: Path,
        model: str | None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        # Online and batch deployments load and apply the same way; only the SDK loader and operations differ.
        with translated_errors(f"deploy {deployment} to {endpoint}"):
            entity = load(source=spec, params_override=_overrides(endpoint, deployment, model, overrides))
            operations.begin_create_or_update(entity).result()

    def create_or_update_deployment(
        self, endpoint: str, deployment: str, spec: Path, model: str | None
    ) -> None:
        from azure.ai.ml import load_online_deployment

        self._deploy(load_online_deployment, self._ml.online_deployments, endpoint, deployment, spec, model)

    def deployment_state(self, endpoint: str, deployment: str) -> str:
        with translated_errors(f"get deployment {deployment} of {endpoint}"):
            return str(self._ml.online_deployments.get(deployment, endpoint).provisioning_state)

    def invoke(self, endpoint: str, deployment: str, request_file: Path) -> str:
        with translated_errors(f"invoke {endpoint}/{deployment}"):
            return str(
                self._ml.online_endpoints.invoke(
                    endpoint_name=endpoint, deployment_name=deployment, request_file=str(request_file)
                )
            )

    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        with translated_errors(f"delete deployment {deployment} of {endpoint}"):
            self._ml.online_deployments.begin_delete(name=deployment, endpoint_name=endpoint).result()

    # ModelsApi
    def register_model(
        self, *, name: str, path: str, model_type: str, description: str, tags: Mapping[str, str]
    ) -> str:
        from azure.ai.ml.entities import Model

        model = Model(name=name, path=path, type=model_type, description=description, tags=dict(tags))
        with translated_errors(f"register model {name} from {path}"):
            return str(self._ml.models.create_or_update(model).version)

    def registry_model_tags(self, *, registry: str, name: str, version: str) -> dict[str, str] | None:
        from azure.ai.ml import MLClient
        from azure.core.exceptions import ResourceNotFoundError

        registry_client = MLClient(self._credential, registry_name=registry)
        with translated_errors(f"look up {name}:{version} in registry {registry}"):
            try:
                model = registry_client.models.get(name=name, version=version)
            except ResourceNotFoundError:
                return None
        return {str(key): str(value) for key, value in (model.tags or {}).items()}

    def share_model(
        self, *, name: str, version: str, registry: str, registry_name: str, registry_version: str
    ) -> None:
        with translated_errors(f"share model {name}:{version} to registry {registry}"):
            self._ml.models.share(
                name,
                version,
                registry_name=registry,
                share_with_name=registry_name,
                share_with_version=registry_version,
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
        from azure.ai.ml import load_batch_deployment

        self._deploy(
            load_batch_deployment, self._ml.batch_deployments, endpoint, deployment, spec, model, overrides
        )
        with translated_errors(f"make {deployment} the default of {endpoint}"):
            batch_endpoint = self._ml.batch_endpoints.get(endpoint)
            batch_endpoint.defaults.deployment_name = deployment
            self._ml.batch_endpoints.begin_create_or_update(batch_endpoint).result()

    def invoke_batch(
        self, endpoint: str, deployment: str | None, inputs: Mapping[str, str], input_type: str
    ) -> str:
        from azure.ai.ml import Input

        sdk_inputs = {name: Input(type=input_type, path=uri) for name, uri in inputs.items()}
        with translated_errors(f"invoke batch endpoint {endpoint}"):
            job = self._ml.batch_endpoints.invoke(
                endpoint_name=endpoint, deployment_name=deployment, inputs=sdk_inputs
            )
        return str(job.name)

    # DiagnosticSettingsApi
    def online_deployment_names(self, endpoint: str) -> list[str]:
        with translated_errors(f"list deployments of {endpoint}"):
            return sorted(str(deployment.name) for deployment in self._ml.online_deployments.list(endpoint))

    def diagnostic_settings(self, resource_id: str) -> list[dict[str, Any]]:
        body = self._arm_json("GET", f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings")
        return list(body.get("value") or [])

    def put_diagnostic_setting(self, resource_id: str, name: str, properties: Mapping[str, Any]) -> None:
        path = f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings/{name}"
        self._arm_json("PUT", path, {"properties": dict(properties)})


def from_args(args: Any) -> AzureMlClient:
    """Build the client from the parsed `add_workspace_arguments` arguments."""
    return AzureMlClient(
        subscription_id=args.subscription_id, resource_group=args.resource_group, workspace=args.workspace
    )
