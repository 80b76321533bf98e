"""Lay out what the gate scans under build/scan/: each stack's ARM model, the pipelines, generated projects.

checkov's azure_pipelines framework reads only files named `*azure-pipelines.yml`, so pipeline files
and templates under any other name are staged as copies that end in that name (and mapped back to
their source in the report). Projects generated from the cookiecutter templates land in build/scan/
as they are, so that their Dockerfiles, GitHub workflows and secrets are scanned in place.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.errors import PlanError

PIPELINE_FOLDERS = frozenset({"pipelines", ".azure-pipelines"})
"""Folders whose YAML files are Azure Pipelines definitions or templates."""
_IGNORED_PARTS = frozenset(
    {".venv", ".venv-checkov", ".venv-policy", ".tools", ".git", "build", "node_modules"}
)
VARIANT_CHOICES: Mapping[str, str] = {"deployment": "both", "databricks_job": "yes"}
"""Template options set to their most inclusive choice, so that every pipeline stage gets generated."""
VARIANT_KEYS = ("framework", "ci_provider")
"""Template options with one generated project per combination of choices (each framework's code, each CI
provider's pipelines)."""
VARIANT_NEEDS: Mapping[str, Mapping[str, str]] = {
    "pytorch": {"task": "classification", "databricks_job": "no"}
}
"""What a variant choice needs of the other options (the template's hooks refuse the rest): the PyTorch variant
trains a digits classifier, and the Databricks job trains the scikit-learn model."""


@dataclass
class ScanInputs:
    """Where the staged files came from."""

    folder: Path
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Absolute path of each staged ARM model -> its content."""
    stacks: dict[str, str] = field(default_factory=dict)
    """Absolute path of each staged ARM model -> stack name."""
    sources: dict[str, str] = field(default_factory=dict)
    """Absolute path of each staged copy -> the file it copies (relative to the repository)."""
    copies: dict[str, list[str]] = field(default_factory=dict)
    """Absolute path of a staged copy -> the other pipeline files with the same bytes (absolute paths): staged
    once, as checkov's verdict on a pipeline depends on its content only, and reported for each."""
    staged_by_digest: dict[str, str] = field(default_factory=dict)
    """SHA-256 of a staged pipeline file -> its staged copy."""
    generated: list[Path] = field(default_factory=list)
    """Projects generated from the templates."""
    template_notes: list[str] = field(default_factory=list)
    """Why no project was generated from a template folder, where none was."""


def _yaml_files(tree: Path) -> Iterator[Path]:
    for path in sorted(tree.rglob("*")):
        relative = path.relative_to(tree).parts
        if _IGNORED_PARTS.intersection(relative) or any("{{" in part for part in relative):
            continue
        if path.suffix in (".yml", ".yaml") and path.is_file():
            yield path


def pipeline_files(tree: Path) -> list[Path]:
    """Azure Pipelines files under `tree`: YAML in a pipelines folder, or named azure-pipelines.yml."""
    return [
        path
        for path in _yaml_files(tree)
        # Relative to the tree's parent: a tree that is itself a `pipelines` folder counts.
        if PIPELINE_FOLDERS.intersection(path.relative_to(tree.parent).parts[:-1])
        or path.name in ("azure-pipelines.yml", "azure-pipelines.yaml")
    ]


def stage_pipelines(tree: Path, label: str, inputs: ScanInputs, root: Path) -> None:
    """Copy each pipeline file under `tree` to a name checkov's azure_pipelines framework reads."""
    target = inputs.folder / "pipelines"
    target.mkdir(parents=True, exist_ok=True)
    for path in pipeline_files(tree):
        if path.name.startswith("azure-pipelines."):
            continue  # scanned where it is
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in inputs.staged_by_digest:  # e.g. a generated project's templates are the platform's
            inputs.copies.setdefault(inputs.staged_by_digest[digest], []).append(str(path.resolve()))
            continue
        flat = "__".join(path.relative_to(tree).with_suffix("").parts)
        staged = target / f"{label}__{flat}.azure-pipelines.yml"
        shutil.copyfile(path, staged)
        inputs.sources[str(staged.resolve())] = str(path.resolve().relative_to(root.resolve()))
        inputs.staged_by_digest[digest] = str(staged.resolve())


def stage_template(stack: str, template: dict[str, Any], inputs: ScanInputs) -> Path:
    """Write a stack's ARM model where the scan reads it; its path."""
    target = inputs.folder / "arm"
    target.mkdir(parents=True, exist_ok=True)
    staged = (target / f"{stack}.template.json").resolve()
    staged.write_text(json.dumps(template, indent=2, sort_keys=True) + "\n")
    inputs.templates[str(staged)] = template
    inputs.stacks[str(staged)] = stack
    return staged


def _variants(spec: Mapping[str, Any]) -> list[dict[str, str]]:
    base = {
        key: value
        for key, value in VARIANT_CHOICES.items()
        if isinstance(spec.get(key), list) and value in spec[key]
    }
    variants: list[dict[str, str]] = [{}]
    for key in VARIANT_KEYS:
        choices = spec.get(key)
        if isinstance(choices, list):
            variants = [
                {**chosen, key: choice} for chosen in variants for choice in choices if choice != "none"
            ]
    needs = [
        {key: value for choice in chosen.values() for key, value in VARIANT_NEEDS.get(choice, {}).items()}
        for chosen in variants
    ]
    return [{**base, **need, **chosen} for chosen, need in zip(variants, needs, strict=True)]


def generate_projects(templates_root: Path, inputs: ScanInputs) -> None:
    """Generate every cookiecutter template under `templates_root`, once per framework and CI provider.

    A folder without cookiecutter.json is not a template (yet) and is noted; a template that fails to
    generate fails the gate, since its pipelines could not be scanned.
    """
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    if not templates_root.is_dir():
        inputs.template_notes.append(f"no {templates_root.name}/ folder: no generated pipelines to scan")
        return
    for template in sorted(p for p in templates_root.iterdir() if p.is_dir()):
        spec_file = template / "cookiecutter.json"
        if not spec_file.is_file():
            inputs.template_notes.append(f"{template.name}: no cookiecutter.json yet, nothing generated")
            continue
        for context in _variants(json.loads(spec_file.read_text())):
            label = "-".join([template.name, *(context[key] for key in VARIANT_KEYS if key in context)])
            out = inputs.folder / "generated" / label
            try:
                project = Path(
                    cookiecutter(str(template), no_input=True, extra_context=context, output_dir=str(out))
                )
            except (CookiecutterException, OSError, ValueError) as err:
                msg = (
                    f"template {template.name} with {context} failed to generate: {type(err).__name__}: {err}"
                )
                raise PlanError(msg) from err
            inputs.generated.append(project)


def prepare_folder(folder: Path) -> ScanInputs:
    """An empty build/scan folder: nothing from an earlier run may be scanned again."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return ScanInputs(folder=folder.resolve())
