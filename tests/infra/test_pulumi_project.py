"""Pulumi.yaml and the stack files are what the Pulumi CLI expects, and agree with the typed config."""

from __future__ import annotations

import re

import pytest
import yaml

from infra.component_reference import pages
from infra.config import PROJECT, StackConfig
from infra.config_reference import TABLE_END, TABLE_START, pulumi_config_declarations, render_readme
from tests.infra.conftest import REPO, STACKS

# The project-file rules of Pulumi's own schema (sdk/go/common/workspace/project.json), restated.
PULUMI_CONFIG_TYPES = {"string", "integer", "boolean", "array"}
PYTHON_FOR_PULUMI_TYPE = {"string": str, "integer": int, "boolean": bool, "array": list}


@pytest.fixture(scope="module")
def project() -> dict:
    return yaml.safe_load((REPO / "Pulumi.yaml").read_text())


def test_project_names_runtime_and_program(project: dict) -> None:
    assert project["name"] == PROJECT
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["toolchain"] == "uv"
    assert project["main"] == "infra/"
    assert (REPO / project["main"] / "__main__.py").is_file()


def test_every_declared_key_has_a_valid_type_a_description_and_a_matching_default(project: dict) -> None:
    for key, entry in project["config"].items():
        assert entry["type"] in PULUMI_CONFIG_TYPES, key
        assert entry.get("description"), f"{key} has no description"
        if entry["type"] == "array":
            assert entry["items"]["type"] in PULUMI_CONFIG_TYPES, key
        if "default" in entry:
            assert isinstance(entry["default"], PYTHON_FOR_PULUMI_TYPE[entry["type"]]), key


def test_declared_config_is_generated_from_the_typed_model(project: dict) -> None:
    assert project["config"] == pulumi_config_declarations(), "run `make docs` to regenerate Pulumi.yaml"
    required = {key for key, entry in project["config"].items() if "default" not in entry}
    assert required == {"environment", "owner", "costCenter"}


def test_readme_key_table_is_current() -> None:
    readme = (REPO / "README.md").read_text()
    assert TABLE_START in readme
    assert TABLE_END in readme
    assert render_readme(readme) == readme, "run `make docs` to regenerate the README's key table"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_set_only_declared_keys_and_no_secrets(stack: str, project: dict) -> None:
    values = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    keys = {key.removeprefix(f"{PROJECT}:") for key in values}
    assert keys <= set(project["config"]), keys - set(project["config"])
    assert all(key.startswith(f"{PROJECT}:") for key in values)
    secrets = [key for key, value in values.items() if isinstance(value, dict) and "secure" in value]
    assert secrets == []
    assert values[f"{PROJECT}:environment"] == stack


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_hold_only_what_differs_from_the_defaults(stack: str, project: dict) -> None:
    values = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    restated = [
        key
        for key, value in values.items()
        if project["config"][key.removeprefix(f"{PROJECT}:")].get("default", object()) == value
    ]
    assert restated == []


def test_no_code_branches_on_the_stack_name() -> None:
    sources = [p for p in (REPO / "infra").rglob("*.py") if "plan" not in p.parts]
    offenders = [
        str(p)
        for p in sources
        if re.search(r"get_stack\(\)\s*==|stack\s*==\s*[\"'](dev|staging|prod)", p.read_text())
    ]
    assert offenders == []


def test_every_config_field_is_documented_as_required_optional_or_conditional() -> None:
    for name, field in StackConfig.model_fields.items():
        assert re.match(r"(Required|Optional|Conditional)\. ", field.description or ""), name


def test_component_pages_are_current() -> None:
    folder = REPO / "docs" / "components"
    for name, content in pages().items():
        assert (folder / name).read_text() == content, f"docs/components/{name} is stale: run `make docs`"
