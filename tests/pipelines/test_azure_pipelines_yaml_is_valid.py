"""Every Azure Pipelines YAML file: Microsoft's schema, template binding, dependsOn, anchors and house rules.

Parametrized over the discovered files, so a new file gets every check without editing this module.
"""

import re
from pathlib import Path

import pytest

from pipelines.validation.documents import PIPELINES_ROOT, anchors_and_aliases, discover, load
from pipelines.validation.rules import rule_findings
from pipelines.validation.schema import schema_errors
from pipelines.validation.templates import declared_parameters, template_findings

FILES = discover()
TEMPLATES = [path for path in FILES if "templates" in path.parts]


def _id(path: Path) -> str:
    return str(path.relative_to(PIPELINES_ROOT))


def test_discovery_finds_root_pipelines_and_templates():
    assert len(FILES) > 0
    assert {p.name for p in FILES if p not in TEMPLATES} >= {"infra.yml", "teardown.yml", "ml.yml"}
    assert {load(p).kind for p in TEMPLATES} == {"steps", "jobs", "variables"}


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_file_validates_against_microsofts_azure_pipelines_schema(path):
    assert schema_errors(load(path)) == []


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_templates_resolve_and_parameters_bind_and_depends_on_targets_exist(path):
    assert template_findings(load(path)) == []


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_file_has_no_yaml_anchors_or_aliases(path):
    assert anchors_and_aliases(path) == []


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_no_continue_on_error_unpinned_task_or_secret_on_a_command_line(path):
    assert rule_findings(load(path)) == []


@pytest.mark.parametrize("path", TEMPLATES, ids=_id)
def test_template_header_documents_every_parameter_and_each_has_a_type(path):
    header = "".join(re.findall(r"^#.*\n", path.read_text(encoding="utf-8"), flags=re.MULTILINE)[:60])
    for name, spec in declared_parameters(load(path).data).items():
        assert re.search(rf"^#\s+{re.escape(name)}\s", header, flags=re.MULTILINE), f"{name} undocumented"
        assert "type" in spec, f"parameter {name} has no type"
        # Optional is exactly "has a default"; the header says which.
        documented = re.search(rf"^#\s+{re.escape(name)}\s+\S+\s+(required|optional)", header, re.MULTILINE)
        assert documented, f"{name}: header must say required or optional"
        assert (documented.group(1) == "optional") == ("default" in spec), name
