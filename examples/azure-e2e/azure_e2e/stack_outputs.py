"""The platform's stack outputs: `pulumi stack output --json`, or the same JSON from a file (tests, CI)."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure_e2e.errors import StackOutputsError

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


@dataclass(frozen=True)
class StackOutputs:
    """The outputs this example needs (infra/program.py exports them under these names)."""

    subscription_id: str
    resource_group: str
    workspace: str
    location: str
    mlflow_tracking_uri: str
    cpu_cluster: str
    cpu_cluster_max_nodes: int
    """The cluster's node count: the training sweep runs this many trials at once."""
    aml_registry: str
    datastores: tuple[str, ...]

    @classmethod
    def parse(cls, raw: dict[str, Any], source: str) -> StackOutputs:
        """Validate `raw` (output name -> value); `source` says where it came from, for error messages."""

        def text(key: str, pattern: re.Pattern[str] | None = None, rule: str = "") -> str:
            if key not in raw:
                msg = f"{source}: output {key!r} is missing (is the stack deployed with this repo's infra/?)"
                raise StackOutputsError(msg)
            value = raw[key]
            if (
                not isinstance(value, str)
                or not value
                or (pattern is not None and not pattern.fullmatch(value))
            ):
                msg = f"{source}: output {key!r} = {value!r}: {rule or 'must be a non-empty string'}"
                raise StackOutputsError(msg)
            return value

        registry = raw.get("amlRegistryName", "")
        if not registry:
            msg = (
                f"{source}: output 'amlRegistryName' is empty: promotion needs the shared Azure ML registry "
                "(set the stack's registry config and run `pulumi up`)"
            )
            raise StackOutputsError(msg)
        tracking = text("mlflowTrackingUri")
        if not tracking.startswith("azureml://"):
            msg = f"{source}: output 'mlflowTrackingUri' = {tracking!r}: must start with azureml://"
            raise StackOutputsError(msg)
        datastores = raw.get("dataLakeDatastoreNames") or []
        if not isinstance(datastores, list) or not all(isinstance(name, str) for name in datastores):
            msg = f"{source}: output 'dataLakeDatastoreNames' = {datastores!r}: must be a list of names"
            raise StackOutputsError(msg)
        max_nodes = raw.get("cpuClusterMaxNodes")
        # JSON has no integers apart from numbers: accept 8 and 8.0, refuse "8", true and 0.
        if (
            isinstance(max_nodes, bool)
            or not isinstance(max_nodes, int | float)
            or max_nodes < 1
            or max_nodes % 1
        ):
            msg = f"{source}: output 'cpuClusterMaxNodes' = {max_nodes!r}: must be a whole number of nodes, 1 or more"
            raise StackOutputsError(msg)
        return cls(
            subscription_id=text("subscriptionId", _GUID, "must be a subscription GUID"),
            resource_group=text("resourceGroupName", _NAME, "must be a resource group name"),
            workspace=text("workspaceName", _NAME, "must be a workspace name"),
            location=text("location"),
            mlflow_tracking_uri=tracking,
            cpu_cluster=text("cpuClusterName", _NAME, "must be a compute name"),
            cpu_cluster_max_nodes=int(max_nodes),
            aml_registry=text("amlRegistryName", _NAME, "must be a registry name"),
            datastores=tuple(datastores),
        )


def load(*, outputs_file: Path | None, stack: str | None, cwd: Path) -> StackOutputs:
    """Read the outputs from `outputs_file`, else from `pulumi stack output --json [--stack STACK]`."""
    if outputs_file is not None:
        try:
            raw = json.loads(outputs_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            msg = f"--outputs-file {str(outputs_file)!r}: not a readable JSON file ({err})"
            raise StackOutputsError(msg) from err
        return StackOutputs.parse(raw, f"--outputs-file {outputs_file}")
    command = ["pulumi", "stack", "output", "--json", *(["--stack", stack] if stack else [])]
    try:
        completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError as err:
        msg = "the Pulumi CLI is not on PATH: install it, or pass --outputs-file with `pulumi stack output --json`"
        raise StackOutputsError(msg) from err
    if completed.returncode != 0:
        msg = f"`{' '.join(command)}` failed: {completed.stderr.strip()}"
        raise StackOutputsError(msg)
    return StackOutputs.parse(json.loads(completed.stdout), f"stack {stack or '(selected)'}")
