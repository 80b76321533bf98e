"""The twin's operations: each one checks, as Azure does, that the caller reaches the resource and that every
name it refers to exists (created by a stack or by an earlier step), then changes the twin's state.

Network: Azure ML jobs, models, endpoints and registries are data-plane calls, refused from outside the VNet
when the resource's public network access is off; diagnostic settings go through ARM (the control plane),
which private endpoints do not affect.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import errors, specs
from .caller import Caller
from .model import AssetStore, AzureTwin, Call, Deployment, Endpoint, Job, Registry, Workspace

ML = "Microsoft.MachineLearningServices"


class Cloud:
    """The Azure side as one caller sees it."""

    def __init__(self, twin: AzureTwin, caller: Caller) -> None:
        self.twin = twin
        self.caller = caller

    def _check(self, operation: str, target: str, error: Exception | None) -> None:
        self.twin.calls.append(
            Call(caller=str(self.caller), operation=operation, target=target, refused=str(error or ""))
        )
        if error is not None:
            raise error

    # Lookups: existence, then network reach.
    def workspace(
        self, operation: str, subscription: str, resource_group: str, name: str, *, data_plane: bool = True
    ) -> Workspace:
        for stack in self.twin.deployed():
            for ws in stack.workspaces:
                if (ws.subscription_id, ws.resource_group.casefold(), ws.name.casefold()) == (
                    subscription,
                    resource_group.casefold(),
                    name.casefold(),
                ):
                    public = ws.public_network_access or not data_plane
                    reachable = self.caller.reaches(self.twin, ws.resource_id, public=public)
                    self._check(
                        operation, ws.name, None if reachable else errors.private_link_denied("workspace")
                    )
                    return ws
        self._check(operation, name, errors.not_found(f"{ML}/workspaces", name, resource_group))
        raise AssertionError  # unreachable: _check raised

    def registry(self, operation: str, name: str, *, direct: bool = True) -> Registry:
        """The registry `name`; `direct` calls (not the service resolving a reference) need network reach."""
        for stack in self.twin.deployed():
            for registry in stack.registries:
                if registry.name.casefold() == name.casefold():
                    public = registry.public_network_access or not direct
                    reachable = self.caller.reaches(self.twin, registry.resource_id, public=public)
                    self._check(
                        operation, name, None if reachable else errors.private_link_denied("registry")
                    )
                    return registry
        self._check(operation, name, errors.not_found(f"{ML}/registries", name, None))
        raise AssertionError

    def endpoint(self, ws: Workspace, name: str, kind: str) -> Endpoint:
        found = ws.endpoints.get(name)
        if found is None or found.kind != kind:
            resource_type = f"{ML}/workspaces/{ws.name}/{kind}Endpoints"
            self._check(
                f"get {kind} endpoint", name, errors.not_found(resource_type, name, ws.resource_group)
            )
        return ws.endpoints[name]

    def deployment(self, ws: Workspace, endpoint: Endpoint, name: str) -> Deployment:
        if name not in endpoint.deployments:
            resource_type = f"{ML}/workspaces/{ws.name}/{endpoint.kind}Endpoints/{endpoint.name}/deployments"
            self._check("get deployment", name, errors.not_found(resource_type, name, ws.resource_group))
        return endpoint.deployments[name]

    # References inside specs.
    def resolve(self, ws: Workspace, references: Iterable[specs.Reference]) -> None:
        """Refuse the first reference that names nothing the stacks or earlier steps created."""
        for ref in references:
            error = self._missing(ws, ref)
            self._check(f"resolve {ref.kind} ({ref.where})", ref.name, error)

    def _missing(self, ws: Workspace, ref: specs.Reference) -> Exception | None:
        if ref.kind == "compute":
            return (
                None
                if ref.name in ws.computes
                else errors.not_found(f"{ML}/workspaces/{ws.name}/computes", ref.name, ws.resource_group)
            )
        if ref.kind == "datastore":
            return (
                None
                if ref.name in ws.datastores
                else errors.not_found(f"{ML}/workspaces/{ws.name}/datastores", ref.name, ws.resource_group)
            )
        if ref.kind == "job-output":
            job = ws.jobs.get(ref.name)
            if job is None:
                return errors.not_found(f"{ML}/workspaces/{ws.name}/jobs", ref.name, ws.resource_group)
            return (
                None
                if ref.version in job.outputs
                else errors.bad_request(
                    f"Job {ref.name} has no output named {ref.version!r} (outputs: {job.outputs})"
                )
            )
        if ref.registry == specs.CURATED_REGISTRY:
            return None
        store: AssetStore = self.registry("resolve", ref.registry, direct=False) if ref.registry else ws
        if isinstance(store, Registry) and not self._managed_network_reaches(ws, store):
            return errors.private_link_denied("registry")
        owner = f"{ML}/registries/{ref.registry}" if ref.registry else f"{ML}/workspaces/{ws.name}"
        collection = {"model": store.models, "environment": store.environments, "data": store.data}[ref.kind]
        versions = list(collection.get(ref.name, []))
        if versions and (ref.version in (None, "latest") or ref.version in versions):
            return None
        kind = {"model": "models", "environment": "environments", "data": "data"}[ref.kind]
        shown = f"{ref.name}/versions/{ref.version}" if ref.version not in (None, "latest") else ref.name
        return errors.not_found(f"{owner}/{kind}", shown, None if ref.registry else ws.resource_group)

    @staticmethod
    def _managed_network_reaches(ws: Workspace, registry: Registry) -> bool:
        """Whether the workspace's jobs and deployments reach the registry: it is public, or the workspace's managed
        network has a private endpoint to it whose connection the registry's owner approved (a Pending connection
        passes no traffic: https://learn.microsoft.com/azure/private-link/private-endpoint-overview#access-to-a-private-link-resource-using-approval-workflow).
        """
        return registry.public_network_access or ws.resource_id in registry.approved_workspaces

    # Jobs.
    def submit_job(
        self, ws: Workspace, spec_path: Path, experiment: str | None, overrides: Mapping[str, str]
    ) -> str:
        spec = specs.load_spec(spec_path, overrides)
        self.resolve(ws, specs.job_references(spec))
        try:
            concurrency = specs.sweep_concurrency(spec)
        except ValueError as err:
            self._check("submit job", str(spec_path), errors.bad_request(str(err)))
        name = (
            f"{(experiment or spec.get('experiment_name') or 'job').replace('.', '-')}-{len(ws.jobs) + 1:04d}"
        )
        ws.jobs[name] = Job(
            name=name,
            job_type=str(spec.get("type", "command")),
            outputs=specs.job_outputs(spec),
            experiment_name=experiment or spec.get("experiment_name"),
            tags={str(k): str(v) for k, v in (spec.get("tags") or {}).items()},
            max_concurrent_trials=concurrency,
        )
        if model := specs.registered_model(spec, experiment):  # registered inside the job, as it completes
            versions = ws.models.setdefault(model, {})
            ws.jobs[name].registered[model] = version = str(len(versions) + 1)
            versions[version] = {}
        return name

    def job(self, ws: Workspace, name: str) -> Job:
        if name not in ws.jobs:
            self._check(
                "get job", name, errors.not_found(f"{ML}/workspaces/{ws.name}/jobs", name, ws.resource_group)
            )
        return ws.jobs[name]

    # Deployments (online and batch).
    def deploy(
        self,
        ws: Workspace,
        kind: str,
        endpoint: str,
        deployment: str,
        spec_path: Path,
        model: str | None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        target = self.endpoint(ws, endpoint, kind)
        spec = specs.load_spec(spec_path, overrides)
        self.resolve(ws, specs.deployment_references(spec, model, f"{kind} deployment {deployment}"))
        instances = (spec.get("resources") or {}).get("instance_count")
        if instances is not None and (not str(instances).isdigit() or int(str(instances)) < 1):
            self._check(
                "deploy",
                deployment,
                errors.bad_request(
                    f"resources.instance_count = {instances!r}: must be an integer of at least 1"
                ),
            )
        target.deployments[deployment] = Deployment(
            name=deployment,
            model=model or spec.get("model"),
            instance_count=None if instances is None else int(str(instances)),
        )
        if kind == "online":
            target.traffic.setdefault(deployment, 0)
        else:
            target.default_deployment = deployment

    def set_traffic(self, ws: Workspace, endpoint: str, traffic: Mapping[str, int]) -> None:
        target = self.endpoint(ws, endpoint, "online")
        for name in traffic:
            self.deployment(ws, target, name)
        total = sum(traffic.values())
        if total not in (0, 100):
            self._check(
                "set traffic", endpoint, errors.bad_request(f"Traffic must add up to 0 or 100, got {total}")
            )
        target.traffic = dict(traffic)

    def invoke(self, ws: Workspace, endpoint: str, deployment: str, request: Path) -> str:
        target = self.endpoint(ws, endpoint, "online")
        self.deployment(ws, target, deployment)
        rows = json.loads(request.read_text(encoding="utf-8"))["input_data"].get("data", [])
        return json.dumps([0.5 for _ in rows] or [0.5])

    def delete_deployment(self, ws: Workspace, endpoint: str, deployment: str) -> None:
        target = self.endpoint(ws, endpoint, "online")
        self.deployment(ws, target, deployment)
        if target.traffic.get(deployment, 0) > 0:
            self._check(
                "delete deployment",
                deployment,
                errors.bad_request(f"Deployment {deployment} still receives traffic"),
            )
        target.deployments.pop(deployment)
        target.traffic.pop(deployment, None)

    def invoke_batch(
        self, ws: Workspace, endpoint: str, deployment: str | None, inputs: Mapping[str, str], input_type: str
    ) -> str:
        target = self.endpoint(ws, endpoint, "batch")
        chosen = deployment or target.default_deployment
        if chosen is None:
            self._check(
                "invoke batch",
                endpoint,
                errors.bad_request(f"Batch endpoint {endpoint} has no default deployment"),
            )
        self.deployment(ws, target, str(chosen))
        self.resolve(
            ws,
            specs.job_references(
                {"inputs": {k: {"type": input_type, "path": v} for k, v in inputs.items()}},
                f"batch {endpoint}",
            ),
        )
        name = f"batchjob-{endpoint}-{len(ws.jobs) + 1:04d}"
        ws.jobs[name] = Job(name=name, job_type="batch", outputs=["score"])
        return name

    # Models.
    def register_model(self, ws: Workspace, name: str, path: str, tags: Mapping[str, str]) -> str:
        self.resolve(ws, specs.job_references({"inputs": {"model": {"path": path}}}, f"model {name}"))
        versions = ws.models.setdefault(name, {})
        version = str(len(versions) + 1)
        versions[version] = dict(tags)
        return version

    def share_model(
        self, ws: Workspace, name: str, version: str, registry: str, as_name: str, as_version: str
    ) -> None:
        self.resolve(ws, [specs.Reference("model", name, version, where="share")])
        target = self.registry("share model", registry)
        versions = target.models.setdefault(as_name, {})
        if as_version in versions:
            self._check(
                "share model",
                f"{as_name}:{as_version}",
                errors.bad_request(f"Model {as_name}:{as_version} already exists in registry {registry}"),
            )
        versions[as_version] = dict(
            ws.models[name][version]
        )  # a shared version keeps the workspace version's tags

    # Diagnostic settings (ARM control plane).
    def diagnostic_settings(self, ws: Workspace, resource_id: str) -> dict[str, dict[str, Any]]:
        prefix = f"{ws.resource_id}/onlineEndpoints/".casefold()
        rest = (
            resource_id.casefold().removeprefix(prefix) if resource_id.casefold().startswith(prefix) else None
        )
        parts = (rest or "").split("/")
        endpoint = (
            next((e for e in ws.endpoints.values() if e.name.casefold() == parts[0]), None) if rest else None
        )
        exists = endpoint is not None and (
            len(parts) == 1 or (len(parts) == 3 and parts[2] in {d.casefold() for d in endpoint.deployments})
        )
        if not exists:
            self._check(
                "diagnostic settings",
                resource_id,
                errors.not_found(
                    "Microsoft.Insights/diagnosticSettings scope", resource_id, ws.resource_group
                ),
            )
        return ws.diagnostic_settings.setdefault(resource_id, {})

    # What CD creates before it trains or deploys (the scripts' WorkspaceAssetsApi).
    def create_environment(self, ws: Workspace, spec_path: Path, version: str, conda_file: Path) -> None:
        name = str(specs.load_spec(spec_path).get("name", ""))
        if not conda_file.is_file():
            self._check(
                "create environment", name, errors.bad_request(f"conda file {conda_file} does not exist")
            )
        versions = ws.environments.setdefault(name, [])
        if version in versions:
            self._check(
                "create environment",
                f"{name}:{version}",
                errors.bad_request(f"Environment {name}:{version} already exists; versions are immutable"),
            )
        versions.append(version)

    def apply_endpoint(self, ws: Workspace, kind: str, spec_path: Path, *, traffic: Mapping[str, int] | None = None,
                       default_deployment: str | None = None) -> None:  # fmt: skip
        spec = specs.load_spec(spec_path)
        name = str(spec.get("name", ""))
        endpoint = ws.endpoints.get(name) or Endpoint(name=name, kind=kind)
        if endpoint.kind != kind:
            self._check(
                f"apply {kind} endpoint", name, errors.bad_request(f"{name} is a {endpoint.kind} endpoint")
            )
        for deployment in [*(traffic or {}), *([default_deployment] if default_deployment else [])]:
            self.deployment(ws, endpoint, deployment)
        keys = ("description", "auth_mode", "public_network_access", "tags")
        endpoint.settings = {key: spec[key] for key in keys if key in spec}
        endpoint.traffic = dict(traffic or {}) if kind == "online" else endpoint.traffic
        endpoint.default_deployment = default_deployment if kind == "batch" else None
        ws.endpoints[name] = endpoint
