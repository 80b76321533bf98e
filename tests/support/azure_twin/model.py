"""The twin's state: what exists on the Azure side, per stack, and every call made to it.

Pydantic models so that a pipeline step running in a subprocess (the real `python -m ...` entry point) loads
the state, acts on it and saves it back for the next step, exactly as Azure would keep it between steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class Job(BaseModel):
    """An Azure ML job: the twin runs it to completion when it is submitted."""

    name: str
    job_type: str
    status: str = "Completed"
    outputs: list[str] = Field(default_factory=list)
    experiment_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    registered: dict[str, str] = Field(default_factory=dict)
    """Model name -> the version the job registered itself (a generated project's `register` step, MLflow)."""
    max_concurrent_trials: dict[str, int] = Field(default_factory=dict)
    """Sweep step -> how many of its trials run at once (a pipeline's `jobs.<step>.limits`)."""


class Deployment(BaseModel):
    """An online or batch deployment."""

    name: str
    model: str | None = None
    provisioning_state: str = "Succeeded"
    instance_count: int | None = None
    """A batch deployment's `resources.instance_count` (nodes one scoring job uses)."""


class Endpoint(BaseModel):
    """A managed online endpoint (traffic split) or a batch endpoint (default deployment)."""

    name: str
    kind: str
    """online | batch"""
    traffic: dict[str, int] = Field(default_factory=dict)
    default_deployment: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    """What its YAML set: description, auth_mode, public_network_access, tags."""
    deployments: dict[str, Deployment] = Field(default_factory=dict)


class AssetStore(BaseModel):
    """Versioned assets of a workspace or registry: name -> versions."""

    models: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)
    """Model name -> version -> its tags."""
    environments: dict[str, list[str]] = Field(default_factory=dict)
    data: dict[str, list[str]] = Field(default_factory=dict)


class Workspace(AssetStore):
    """An Azure ML workspace and what lives in it."""

    name: str
    resource_id: str
    resource_group: str
    subscription_id: str
    public_network_access: bool
    managed_network_isolation: str = "Disabled"
    datastores: list[str]
    computes: list[str] = Field(default_factory=list)
    jobs: dict[str, Job] = Field(default_factory=dict)
    endpoints: dict[str, Endpoint] = Field(default_factory=dict)
    diagnostic_settings: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    """Resource ID -> setting name -> properties (Azure Monitor, on the workspace's endpoints)."""
    schedules: dict[str, str] = Field(default_factory=dict)
    """Model monitor schedule name -> the deployment it watches (`azureml:<endpoint>:<deployment>`)."""
    private_endpoint_rules: dict[str, str] = Field(default_factory=dict)
    """Its managed network's private endpoint outbound rules: rule name -> ARM ID of the resource reached."""


class Registry(AssetStore):
    """An Azure ML registry."""

    name: str
    resource_id: str
    public_network_access: bool
    approved_workspaces: list[str] = Field(default_factory=list)
    """ARM IDs of the workspaces whose managed private endpoint connection to it its owner approved: no role can
    (docs/private-profile.md), so the owner does it once, by hand (`AzureTwin.approve_registry_connections`)."""


class FunctionApp(BaseModel):
    """A function app (the lifecycle handler); publishing goes to its SCM site, a data-plane endpoint."""

    name: str
    resource_id: str
    resource_group: str
    public_network_access: bool
    packages: list[str] = Field(default_factory=list)


class AgentPool(BaseModel):
    """An Azure DevOps agent pool the stack runs in its VNet (resource type devopsinfrastructure:Pool)."""

    name: str
    resource_id: str
    urn: str = ""
    """Its URN: the pool runs jobs once a `pulumi up` (targeted or not) created it."""


class ContainerRegistry(BaseModel):
    """An Azure Container Registry and the image tags pushed into it (data plane: its login server)."""

    name: str
    login_server: str
    resource_id: str
    urn: str
    public_network_access: bool
    images: dict[str, list[str]] = Field(default_factory=dict)
    """Repository -> the tags pushed into it."""


class KeyVault(BaseModel):
    """A key vault and its secrets (data plane: https://<name>.vault.azure.net). Values are not kept: only each
    secret's tags and how many versions were set."""

    name: str
    resource_id: str
    urn: str
    public_network_access: bool
    secrets: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Secret name -> the tags of its current version."""
    versions: dict[str, int] = Field(default_factory=dict)
    """Secret name -> versions set so far."""


class RunnerJob(BaseModel):
    """A Container Apps job of self-hosted GitHub runners: the image it pulls, the vault secrets it references."""

    name: str
    urn: str
    image: str
    key_vault_urls: list[str] = Field(default_factory=list)


class StateResource(BaseModel):
    """One resource of the stack's Pulumi state, as `pulumi stack export` lists it."""

    urn: str
    type: str
    data_plane_of: str = ""
    """ARM ID of the resource whose own API its provider calls (a Databricks object: its workspace); "" when it is
    deleted through ARM."""
    public: bool = True
    """Whether that resource answers outside its VNet (public network access enabled)."""


class StackTwin(BaseModel):
    """One stack: its outputs and the resources of its plan, present once `pulumi up` ran (`deployed`)."""

    stack: str
    deployed: bool = False
    outputs: dict[str, Any]
    workspaces: list[Workspace] = Field(default_factory=list)
    registries: list[Registry] = Field(default_factory=list)
    function_apps: list[FunctionApp] = Field(default_factory=list)
    agent_pools: list[AgentPool] = Field(default_factory=list)
    private_link_targets: list[str] = Field(default_factory=list)
    """ARM IDs that the stack's private endpoints connect its VNet to."""
    private_endpoint_urns: dict[str, str] = Field(default_factory=dict)
    """Private link target -> URN of the private endpoint to it (usable once created)."""
    container_registries: list[ContainerRegistry] = Field(default_factory=list)
    key_vaults: list[KeyVault] = Field(default_factory=list)
    runner_jobs: list[RunnerJob] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    """URNs of the plan's component resources (a `--target` may name them)."""
    created: list[str] = Field(default_factory=list)
    """URNs that targeted `pulumi up`s created before the first full one (`deployed` means all of them)."""
    resources: list[StateResource] = Field(default_factory=list)
    """The stack's state once deployed: every custom resource of its plan, until `pulumi destroy` deletes it."""

    def exists(self, urn: str) -> bool:
        """Whether the resource `urn` of this stack exists in Azure."""
        return self.deployed or urn in self.created

    def reachable_targets(self) -> list[str]:
        """The private link targets whose private endpoint exists."""
        return [
            t
            for t in self.private_link_targets
            if self.deployed or self.private_endpoint_urns.get(t, "") in self.created
        ]


class Call(BaseModel):
    """One call that reached the twin: who asked, from where, for what, and whether Azure refused it."""

    caller: str
    operation: str
    target: str
    refused: str = ""


class AzureTwin(BaseModel):
    """Every stack of one cloud (registries are shared across stacks) and the calls made to it."""

    stacks: dict[str, StackTwin] = Field(default_factory=dict)
    calls: list[Call] = Field(default_factory=list)
    variable_groups: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Azure DevOps Library: group name -> the group as its REST API returns it (`variables`: name -> value)."""
    github_environments: dict[str, dict[str, str]] = Field(default_factory=dict)
    """GitHub environment -> its variables."""
    secure_files: dict[str, str] = Field(default_factory=dict)
    """Azure DevOps Library secure files: name -> content (uploaded once by a user)."""

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> AzureTwin:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def reload(self, path: Path) -> None:
        """Take on the state saved at `path` (this object stays the one the tests hold)."""
        saved = AzureTwin.load(path)
        for name in type(self).model_fields:
            setattr(self, name, getattr(saved, name))

    def deployed(self) -> list[StackTwin]:
        return [stack for stack in self.stacks.values() if stack.deployed]

    def registry_of(self, login_server: str) -> tuple[StackTwin, ContainerRegistry] | None:
        """The existing container registry whose login server is `login_server`, with its stack."""
        for stack in self.stacks.values():
            for registry in stack.container_registries:
                if registry.login_server == login_server.casefold() and stack.exists(registry.urn):
                    return stack, registry
        return None

    def vault_of(self, name: str) -> tuple[StackTwin, KeyVault] | None:
        """The existing key vault named `name`, with its stack."""
        for stack in self.stacks.values():
            for vault in stack.key_vaults:
                if vault.name.casefold() == name.casefold() and stack.exists(vault.urn):
                    return stack, vault
        return None

    def approve_registry_connections(self) -> list[str]:
        """The registry owner's one-time portal step (docs/first-run.md): approve every pending connection to a
        registry from a workspace whose managed network has a private endpoint rule to it. Returns
        `<workspace> -> <registry>` for each approval made."""
        approved = []
        for registry in (r for stack in self.deployed() for r in stack.registries):
            for workspace in (w for stack in self.deployed() for w in stack.workspaces):
                reaches = registry.resource_id.casefold() in {
                    target.casefold() for target in workspace.private_endpoint_rules.values()
                }
                if reaches and workspace.resource_id not in registry.approved_workspaces:
                    registry.approved_workspaces.append(workspace.resource_id)
                    approved.append(f"{workspace.name} -> {registry.name}")
        return approved

    def refusals(self) -> list[Call]:
        return [call for call in self.calls if call.refused]
