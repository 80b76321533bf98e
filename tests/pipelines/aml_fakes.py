"""Fakes of the `pipelines.scripts.aml_boundary` Protocols: the only seam the script tests replace.

Imported by the script tests as `tests.pipelines.aml_fakes`.
"""

import json
from collections.abc import Callable, Mapping
from pathlib import Path

from pipelines.scripts.errors import DeploymentError


class FakeJobs:
    """JobsApi whose statuses come from a script; the last status repeats once the script is used up."""

    def __init__(self, statuses: list[str | Exception]) -> None:
        self.statuses = list(statuses)
        self.status_calls = 0
        self.canceled: list[str] = []
        self.submitted: list[tuple[Path, str | None]] = []
        self.overrides: list[dict[str, str]] = []

    def submit_job(
        self, spec: Path, *, experiment_name: str | None, overrides: Mapping[str, str] | None = None
    ) -> str:
        self.submitted.append((spec, experiment_name))
        self.overrides.append(dict(overrides or {}))
        return "job-0001"

    def job_status(self, name: str) -> str:
        self.status_calls += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(status, Exception):
            raise status
        return status

    def cancel_job(self, name: str) -> None:
        self.canceled.append(name)


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeOnlineEndpoint:
    """OnlineEndpointsApi for one endpoint, recording every call; `healthy` decides each scoring response."""

    def __init__(self, traffic: Mapping[str, int], deployments: Mapping[str, str] | None = None) -> None:
        self.traffic = dict(traffic)
        self.deployments = dict(deployments or {name: "Succeeded" for name in traffic})
        self.calls: list[tuple] = []
        self.traffic_history: list[dict[str, int]] = []
        # (deployment, current traffic of that deployment) -> healthy?
        self.healthy: Callable[[str, int], bool] = lambda deployment, percent: True
        self.fail_create = False
        self.fail_set_traffic_to: dict[str, int] | None = None

    def get_traffic(self, endpoint: str) -> dict[str, int]:
        return dict(self.traffic)

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int]) -> None:
        self.calls.append(("set_traffic", dict(traffic)))
        if self.fail_set_traffic_to is not None and dict(traffic) == self.fail_set_traffic_to:
            raise DeploymentError("HTTP 500 while updating traffic")
        self.traffic_history.append(dict(traffic))
        self.traffic = {name: percent for name, percent in traffic.items()}

    def create_or_update_deployment(
        self, endpoint: str, deployment: str, spec: Path, model: str | None
    ) -> None:
        self.calls.append(("create", deployment, model))
        if self.fail_create:
            self.deployments[deployment] = "Failed"
            raise DeploymentError(f"deploy {deployment}: provisioning Failed")
        self.deployments[deployment] = "Succeeded"
        self.traffic.setdefault(deployment, 0)

    def deployment_state(self, endpoint: str, deployment: str) -> str:
        return self.deployments[deployment]

    def invoke(self, endpoint: str, deployment: str, request_file: Path) -> str:
        self.calls.append(("invoke", deployment, self.traffic.get(deployment, 0)))
        json.loads(request_file.read_text())["input_data"]  # the script must send the managed-endpoint format
        if self.healthy(deployment, self.traffic.get(deployment, 0)):
            return json.dumps([0.1, 0.9])
        return json.dumps({"error": "upstream request timeout"})

    def delete_deployment(self, endpoint: str, deployment: str) -> None:
        self.calls.append(("delete", deployment))
        if self.traffic.get(deployment, 0) > 0:
            raise DeploymentError(f"cannot delete {deployment}: it still serves traffic")
        self.deployments.pop(deployment)
        self.traffic.pop(deployment, None)


class FakeModels:
    """ModelsApi with an in-memory workspace and registries. Like Azure ML, a registry version is immutable
    (sharing onto an existing one is refused) and a shared copy keeps its workspace version's tags."""

    def __init__(self, registry_contents: dict[tuple[str, str, str], dict[str, str]] | None = None) -> None:
        self.registered: list[dict] = []
        self.shared: list[dict] = []
        self.registry_contents = dict(registry_contents or {})

    def register_model(self, *, name, path, model_type, description, tags) -> str:
        self.registered.append(
            {"name": name, "path": path, "type": model_type, "description": description, "tags": dict(tags)}
        )
        return str(len(self.registered))

    def registry_model_tags(self, *, registry: str, name: str, version: str) -> dict[str, str] | None:
        found = self.registry_contents.get((registry, name, version))
        return None if found is None else dict(found)

    def share_model(self, *, name, version, registry, registry_name, registry_version) -> None:
        key = (registry, registry_name, registry_version)
        if key in self.registry_contents:
            raise DeploymentError(
                f"HTTP 409: {registry_name}:{registry_version} already exists in {registry}"
            )
        self.shared.append({"name": name, "version": version, "registry": registry})
        index = int(version) - 1 if version.isdigit() else len(self.registered)
        tags = self.registered[index]["tags"] if index < len(self.registered) else {}
        self.registry_contents[key] = dict(tags)


class FakeBatch:
    """BatchEndpointsApi recording deployments and invocations."""

    def __init__(self) -> None:
        self.deployed: list[tuple] = []
        self.overrides: list[dict[str, str]] = []
        self.invoked: list[tuple] = []

    def create_or_update_batch_deployment(self, endpoint, deployment, spec, model, overrides=None) -> None:
        self.deployed.append((endpoint, deployment, Path(spec).name, model))
        self.overrides.append(dict(overrides or {}))

    def invoke_batch(self, endpoint, deployment, inputs, input_type) -> str:
        self.invoked.append((endpoint, deployment, dict(inputs), input_type))
        return "batchjob-42"


WORKSPACE_ARGS = [
    "--subscription-id",
    "00000000-0000-0000-0000-000000000001",
    "--resource-group",
    "rg-mlops-dev",
    "--workspace",
    "mlw-mlops-dev",
]
