"""Read a stack's configuration the way the Pulumi CLI hands it to the program.

Defaults declared in Pulumi.yaml are applied first, then the values of Pulumi.<stack>.yaml; every value
becomes a string ("4", "true", JSON for lists), exactly what `pulumi.Config` sees in a real run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from infra.config import PROJECT
from infra.errors import PlanError
from infra.stack_file import read_stack_file

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader, libyaml's where PyYAML has it: the same values ten times faster. A program run reads
Pulumi.yaml for every stack it derives names from (about 30 times in a gate run)."""


def _as_config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def stack_file(root: Path, stack: str) -> Path:
    """The path of Pulumi.<stack>.yaml under `root`."""
    return root / f"Pulumi.{stack}.yaml"


def available_stacks(root: Path) -> list[str]:
    """The stacks that have a stack file under `root`, sorted."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml"))


def load_stack_config(root: Path, stack: str) -> dict[str, str]:
    """The stack's configuration as "<namespace>:<key>" -> string, declared defaults included."""
    path = stack_file(root, stack)
    if not path.is_file():
        msg = f"stack {stack!r} has no stack file {path.name}; stacks here: {available_stacks(root)}"
        raise PlanError(msg)
    project = yaml.load((root / "Pulumi.yaml").read_text(), Loader=_SAFE_LOADER)
    values: dict[str, str] = {
        f"{PROJECT}:{key}": _as_config_string(entry["default"])
        for key, entry in (project.get("config") or {}).items()
        if "default" in entry
    }
    values.update({key: _as_config_string(value) for key, value in read_stack_file(path, PROJECT).items()})
    return values
