"""A generated project's Azure boundary (`<package>.aml_clients.from_args`) backed by the twin.

`promote` and `monitoring` call the azure-ai-ml and MLflow clients directly, so the twin answers with objects of
the same shape (the attributes and methods those modules call, nothing more), raising the SDK's own exceptions
(404 ResourceNotFoundError, 403 HttpResponseError) as Azure would.

The training pipeline (aml/pipeline.yml) registers its model inside the Azure ML job (MLflow, `register` step),
which the twin does not run: `Cloud.submit_job` records that registration (`Job.registered`), and a download of
the job's `registered` / `training_data` output writes the files that step writes (registered.json, MLTable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from . import errors, specs
from .caller import Caller
from .cloud import ML, Cloud
from .model import AzureTwin, Workspace

REGISTRATION_FILE = "registered.json"
"""The generated project's hand-off file for the registered version (handoff.Registration.FILE)."""
MLTABLE_FILE = "MLTable"


class _Done:
    """An LRO poller that has finished (operations complete at once in the twin)."""

    def result(self) -> None:
        return None


class _Jobs:
    def __init__(self, workspace: TwinWorkspaceClient) -> None:
        self._ws = workspace

    def download(self, name: str, output_name: str | None = None, download_path: str = ".", **_: Any) -> None:
        cloud, ws = self._ws.cloud, self._ws.workspace("download job output")
        job = cloud.job(ws, name)
        if output_name not in job.outputs:
            raise errors.bad_request(
                f"Job {name} has no output named {output_name!r} (outputs: {job.outputs})"
            )
        folder = Path(download_path) / "named-outputs" / str(output_name)  # the SDK's layout
        folder.mkdir(parents=True, exist_ok=True)
        if output_name == "registered":
            for model, version in job.registered.items():
                registration = {
                    "model_name": model,
                    "version": version,
                    "model_uri": f"models:/{model}/{version}",
                }
                (folder / REGISTRATION_FILE).write_text(json.dumps(registration), encoding="utf-8")
        elif output_name == "training_data":
            (folder / MLTABLE_FILE).write_text("paths:\n  - file: ./train.csv\n", encoding="utf-8")


class _WorkspaceModels:
    def __init__(self, workspace: TwinWorkspaceClient) -> None:
        self._ws = workspace

    def share(self, name: str, version: str, *, registry_name: str, share_with_name: str,
              share_with_version: str) -> None:  # fmt: skip
        ws = self._ws.workspace("share model")
        self._ws.cloud.share_model(ws, name, version, registry_name, share_with_name, share_with_version)


class _Schedules:
    def __init__(self, workspace: TwinWorkspaceClient) -> None:
        self._ws = workspace

    def begin_create_or_update(self, schedule: Any) -> _Done:
        """A model monitor: its target deployment and every reference data asset must exist."""
        cloud, ws = self._ws.cloud, self._ws.workspace("create schedule")
        monitor = schedule.create_monitor
        _, endpoint, deployment = str(monitor.monitoring_target.endpoint_deployment_id).split(":")
        cloud.deployment(ws, cloud.endpoint(ws, endpoint, "online"), deployment)
        references = [
            ref
            for name, signal in (monitor.monitoring_signals or {}).items()
            if getattr(signal, "reference_data", None) is not None
            and (ref := specs.asset(str(signal.reference_data.input_data.path), "data", f"signals.{name}"))
        ]
        cloud.resolve(ws, references)
        ws.schedules[str(schedule.name)] = f"azureml:{endpoint}:{deployment}"
        return _Done()


class TwinWorkspaceClient:
    """`MLClient` for one workspace, as promote/monitoring use it: jobs.download, models.share, schedules."""

    def __init__(self, cloud: Cloud, subscription: str, resource_group: str, name: str) -> None:
        self.cloud = cloud
        self._address = (subscription, resource_group, name)
        self.jobs, self.models, self.schedules = _Jobs(self), _WorkspaceModels(self), _Schedules(self)

    def workspace(self, operation: str) -> Workspace:
        return self.cloud.workspace(operation, *self._address)


class _RegistryAssets:
    def __init__(self, registry: TwinRegistryClient, kind: str) -> None:
        self._registry, self._kind = registry, kind

    def get(self, name: str, version: str) -> Any:
        store = self._registry.cloud.registry(f"get {self._kind}", self._registry.name)
        found = (store.models if self._kind == "model" else store.data).get(name, {})
        if version not in found:
            kind = "models" if self._kind == "model" else "data"
            raise errors.not_found(
                f"{ML}/registries/{self._registry.name}/{kind}", f"{name}/versions/{version}", None
            )
        tags = dict(found[version]) if self._kind == "model" else {}  # type: ignore[call-overload]
        return SimpleNamespace(name=name, version=version, tags=tags, job_name=None)

    def create_or_update(self, asset: Any) -> Any:
        store = self._registry.cloud.registry(f"create {self._kind}", self._registry.name)
        versions = store.data.setdefault(str(asset.name), [])
        if str(asset.version) in versions:
            raise errors.bad_request(
                f"Data {asset.name}:{asset.version} already exists; versions are immutable"
            )
        versions.append(str(asset.version))
        return asset


class TwinRegistryClient:
    """`MLClient(registry_name=...)`: models.get, data.get, data.create_or_update."""

    def __init__(self, cloud: Cloud, name: str) -> None:
        self.cloud, self.name = cloud, name
        self.models, self.data = _RegistryAssets(self, "model"), _RegistryAssets(self, "data")


class TwinTracking:
    """The workspace's MLflow model registry (`MlflowClient`): versions' source runs and tags."""

    def __init__(self, workspace: TwinWorkspaceClient) -> None:
        self._ws = workspace

    def _version(self, operation: str, name: str, version: str) -> tuple[Workspace, dict[str, str]]:
        ws = self._ws.workspace(operation)
        if version not in ws.models.get(name, {}):
            raise errors.not_found(
                f"{ML}/workspaces/{ws.name}/models", f"{name}/versions/{version}", ws.resource_group
            )
        return ws, ws.models[name][version]

    def get_model_version(self, name: str, version: str) -> Any:
        ws, _ = self._version("get model version", name, version)
        run = next((j.name for j in ws.jobs.values() if j.registered.get(name) == version), "")
        return SimpleNamespace(name=name, version=version, run_id=run)

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        _, tags = self._version("tag model version", name, version)
        tags[key] = str(value)


def clients_factory(twin: AzureTwin, caller: Caller, clients_type: type) -> Any:
    """A replacement for `<package>.aml_clients.from_args` answering from the twin as `caller`."""

    def from_args(settings: Mapping[str, str], *, registry: str = "", tracking: bool = False) -> Any:
        cloud = Cloud(twin, caller)
        workspace = TwinWorkspaceClient(
            cloud, settings["subscription"], settings["resource_group"], settings["workspace"]
        )
        return clients_type(
            workspace=workspace,
            registry=TwinRegistryClient(cloud, registry) if registry else None,
            tracking=TwinTracking(workspace) if tracking else None,
        )

    return from_args
