"""What `make plan` shows and writes: a resource tree on the terminal, resources.json and outputs.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from infra.plan.engine import Plan, PlannedResource

# The settings worth seeing at a glance, per resource type (dotted paths into the wire inputs).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "azure-native:storage:StorageAccount": (
        "accountName",
        "sku.name",
        "isHnsEnabled",
        "publicNetworkAccess",
        "allowSharedKeyAccess",
        "allowBlobPublicAccess",
        "minimumTlsVersion",
    ),
    "azure-native:storage:BlobServiceProperties": (
        "deleteRetentionPolicy.days",
        "containerDeleteRetentionPolicy.days",
        "isVersioningEnabled",
    ),
    "azure-native:storage:BlobContainer": ("containerName", "publicAccess"),
    "azure-native:keyvault:Vault": (
        "vaultName",
        "properties.enableRbacAuthorization",
        "properties.enablePurgeProtection",
        "properties.publicNetworkAccess",
    ),
    "azure-native:containerregistry:Registry": (
        "registryName",
        "sku.name",
        "adminUserEnabled",
        "anonymousPullEnabled",
        "publicNetworkAccess",
    ),
    "azure-native:machinelearningservices:Workspace": (
        "workspaceName",
        "publicNetworkAccess",
        "managedNetwork.isolationMode",
        "systemDatastoresAuthMode",
        "v1LegacyMode",
    ),
    "azure-native:machinelearningservices:Compute": (
        "computeName",
        "properties.computeType",
        "properties.properties.vmSize",
        "properties.properties.scaleSettings.minNodeCount",
        "properties.properties.scaleSettings.maxNodeCount",
        "properties.properties.idleTimeBeforeShutdown",
        "properties.disableLocalAuth",
    ),
    "azure-native:machinelearningservices:Datastore": (
        "name",
        "properties.filesystem",
        "properties.credentials",
    ),
    "azure-native:databricks:Workspace": (
        "workspaceName",
        "sku.name",
        "computeMode",
        "publicNetworkAccess",
        "requiredNsgRules",
        "parameters.enableNoPublicIp.value",
    ),
    "databricks:index/job:Job": ("name", "runAs.servicePrincipalName"),
    "databricks:index/clusterPolicy:ClusterPolicy": ("name",),
    "databricks:index/secretScope:SecretScope": ("name", "backendType"),
    "azure-native:operationalinsights:Workspace": ("workspaceName", "retentionInDays"),
    "azure-native:applicationinsights:Component": ("resourceName", "ingestionMode"),
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "location"),
    "azure-native:authorization:RoleAssignment": ("principalType", "description"),
}


def _lookup(inputs: dict[str, Any], dotted: str) -> Any:
    value: Any = inputs
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def key_settings(resource: PlannedResource) -> dict[str, Any]:
    """The resource's key settings that are set, by dotted path."""
    settings = {path: _lookup(resource.inputs, path) for path in KEY_SETTINGS.get(resource.type, ())}
    return {path: value for path, value in settings.items() if value is not None}


def resource_records(plan: Plan) -> list[dict[str, Any]]:
    """The resources.json records, sorted by name so that files diff cleanly."""
    return [
        {
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "inputs": r.inputs,
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
        }
        for r in sorted(plan.resources, key=lambda r: r.name)
    ]


def write_plan(plan: Plan, out_dir: Path) -> Path:
    """Write resources.json and outputs.json for `plan` under `out_dir`/<stack>/; returns the folder."""
    folder = out_dir / plan.stack
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resources.json").write_text(
        json.dumps(resource_records(plan), indent=2, sort_keys=True) + "\n"
    )
    (folder / "outputs.json").write_text(json.dumps(plan.outputs, indent=2, sort_keys=True) + "\n")
    return folder


def _shown(value: Any) -> Any:
    # The engine sends every number as a float: show whole numbers as integers.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _label(resource: PlannedResource) -> str:
    settings = escape(
        ", ".join(f"{k.rsplit('.', 1)[-1]}={_shown(v)}" for k, v in key_settings(resource).items())
    )
    lock = " [bold red]protect[/]" if resource.protect else ""
    kind = "[cyan]" if resource.custom else "[magenta]"
    return f"{kind}{escape(resource.type)}[/] [bold]{escape(resource.name)}[/]{lock}" + (
        f" [dim]{settings}[/]" if settings else ""
    )


def render_tree(plan: Plan) -> Tree:
    """The resources as a tree: components with their children, sorted by name."""
    tree = Tree(f"[bold]stack {escape(plan.stack)}[/] ({len(plan.resources)} resources)")
    nodes: dict[str | None, Tree] = {None: tree}
    pending = sorted(plan.resources, key=lambda r: r.name)
    while pending:
        placed = [r for r in pending if r.parent in nodes]
        if not placed:  # a parent that was never registered: show the orphans at the root
            placed, pending = pending, []
        for resource in placed:
            nodes[resource.name] = nodes.get(resource.parent, tree).add(_label(resource))
        pending = [r for r in pending if r not in placed]
    return tree


def print_plan(plan: Plan, folder: Path, console: Console) -> None:
    """Print the tree, the stack outputs and where the files went."""
    console.print(render_tree(plan))
    console.print(f"[bold]outputs[/]: {escape(json.dumps(plan.outputs, indent=2, sort_keys=True))}")
    console.print(escape(f"wrote {folder / 'resources.json'} and {folder / 'outputs.json'}"))
