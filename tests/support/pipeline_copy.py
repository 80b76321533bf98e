"""The repository's stack files and Azure Pipelines definitions copied into a temporary folder, with stack files
changed and the pools template regenerated there (`make pools`): what the pipelines compile to after a user edits a
stack file, without touching the committed files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from infra import pipeline_pools
from infra.config import PROJECT
from infra.plan.stack_files import available_stacks
from pipelines.validation.documents import PIPELINES_ROOT

REPO = Path(__file__).resolve().parents[2]


def copy_with_stack_changes(root: Path, changes: dict[str, dict[str, Any]]) -> Path:
    """Copy Pulumi.yaml, every Pulumi.<stack>.yaml and pipelines/azure-pipelines under `root`; per stack, set the
    `azure-mlops:<key>` values `changes` gives (None removes the key); regenerate the pools template from the copies.
    Returns the copied pipelines folder (infra.yml, ml.yml, templates/)."""
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    for stack in available_stacks(REPO):
        path = root / f"Pulumi.{stack}.yaml"
        data = yaml.safe_load((REPO / path.name).read_text(encoding="utf-8"))
        for key, value in changes.get(stack, {}).items():
            if value is None:
                data["config"].pop(f"{PROJECT}:{key}", None)
            else:
                data["config"][f"{PROJECT}:{key}"] = value
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    pipelines = root / PIPELINES_ROOT.relative_to(REPO)
    shutil.copytree(PIPELINES_ROOT, pipelines)
    assert pipeline_pools.main(["--root", str(root)]) == 0
    return pipelines


def set_generated_variables(pipelines: Path, values: dict[str, str]) -> None:
    """Overwrite variables of the copied pools template, as a hand edit of the generated file would."""
    path = pipelines.parent.parent / pipeline_pools.TEMPLATE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(values) - {entry["name"] for entry in data["variables"]}
    assert not unknown, f"the pools template defines no {sorted(unknown)}"
    for entry in data["variables"]:
        entry["value"] = values.get(entry["name"], entry["value"])
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
