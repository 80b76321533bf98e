"""Find and load Azure Pipelines YAML files, and tell root pipelines from steps/jobs/stages templates."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PIPELINES_ROOT = Path(__file__).resolve().parent.parent / "azure-pipelines"
TEMPLATE_KINDS = ("steps", "jobs", "stages", "variables")


@dataclass(frozen=True)
class Document:
    """One YAML file: its path, parsed content and kind ('pipeline' or a template kind)."""

    path: Path
    data: dict[str, Any]
    kind: str


def discover(root: Path = PIPELINES_ROOT) -> list[Path]:
    """Every `.yml`/`.yaml` file under `root`, sorted so test ids are stable."""
    return sorted(p for p in root.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())


def kind_of(path: Path, data: dict[str, Any]) -> str:
    """'pipeline' for files outside a `templates` folder; else the template kind from its top-level key."""
    if "templates" not in path.parts:
        return "pipeline"
    kinds = [key for key in TEMPLATE_KINDS if key in data]
    if len(kinds) != 1:
        msg = f"{path}: a template needs exactly one of {list(TEMPLATE_KINDS)} at top level, found {kinds}"
        raise ValueError(msg)
    return kinds[0]


def load(path: Path) -> Document:
    """Parse `path` (PyYAML safe loader); the top level must be a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        msg = f"{path}: top level must be a mapping, got {type(data).__name__}"
        raise TypeError(msg)
    return Document(path=path, data=data, kind=kind_of(path, data))


def anchors_and_aliases(path: Path) -> list[str]:
    """Positions of YAML anchors (&x) and aliases (*x): Azure Pipelines rejects them, PyYAML expands them."""
    found = []
    for event in yaml.parse(path.read_text(encoding="utf-8")):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            found.append(f"{path}:{mark.line + 1}:{mark.column + 1}: {type(event).__name__} {event.anchor!r}")
    return found
