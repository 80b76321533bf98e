"""The parts meet through names: stack outputs -> variable group variables -> pipelines and generated projects.

A renamed output, variable or group fails here before any pipeline runs; the twin runs catch renamed datastores,
registries, environments and endpoints (tests/twin/test_*_in_twin.py)."""

from __future__ import annotations

import re

import pytest

from pipelines.validation.documents import PIPELINES_ROOT, discover
from tests.support.azure_twin.variables import GROUP_PREFIX, group_variables, mapping

MACRO = re.compile(r"\$\((AML_[A-Z_]+)\)")
GROUP = re.compile(r"^\s*-\s*group:\s*(\S+)", re.MULTILINE)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_variable_of_the_group_carries_an_output_the_stack_exports(stack_twins, stack):
    outputs = stack_twins[stack].outputs
    missing = {variable: output for variable, output in mapping().items() if output not in outputs}
    assert missing == {}, f"{stack} exports {sorted(outputs)}"
    # Every mapped variable lands in the Azure DevOps group or the GitHub environment (runs-on: GitHub only).
    assert set(group_variables(outputs)) | set(group_variables(outputs, github=True)) == set(mapping())


def test_every_aml_variable_a_pipeline_uses_is_in_the_group():
    used = {
        f"{path.relative_to(PIPELINES_ROOT)}: {name}"
        for path in discover()
        for name in MACRO.findall(path.read_text(encoding="utf-8"))
        if name not in mapping()
    }
    assert used == set()


def test_every_variable_group_a_pipeline_names_is_a_stacks_group(stack_twins):
    groups = {g for path in discover() for g in GROUP.findall(path.read_text(encoding="utf-8"))}
    unknown = {
        g for g in groups if g != "mlops-infra-state" and g.removeprefix(GROUP_PREFIX) not in stack_twins
    }
    assert groups and unknown == set()


@pytest.mark.slow
def test_every_aml_variable_a_generated_project_uses_is_in_the_group(generated):
    unknown = set()
    for deployment in ("online", "batch", "both"):
        for ci_provider in ("azure-pipelines", "github-actions"):
            project = generated(deployment, ci_provider)
            for path in [
                *project.glob(".azure-pipelines/**/*.yml"),
                *project.glob(".github/workflows/*.yml"),
            ]:
                text = path.read_text(encoding="utf-8")
                names = MACRO.findall(text) + re.findall(r"vars\.(AML_[A-Z_]+)", text)
                unknown |= {f"{path.relative_to(project)}: {n}" for n in names if n not in mapping()}
    assert unknown == set()
