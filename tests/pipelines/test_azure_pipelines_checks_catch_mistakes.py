"""Each static check fails on a deliberately broken file: the green results above mean something."""

from pathlib import Path

import yaml

from pipelines.validation.__main__ import check_file
from pipelines.validation.documents import Document, anchors_and_aliases, load
from pipelines.validation.rules import rule_findings
from pipelines.validation.schema import schema_errors
from pipelines.validation.templates import template_findings

STEPS_TEMPLATE = {
    "parameters": [
        {"name": "stack", "type": "string"},
        {"name": "attempts", "type": "number", "default": 3},
        {"name": "mode", "type": "string", "default": "a", "values": ["a", "b"]},
    ],
    "steps": [{"bash": "echo ${{ parameters.stack }}"}],
}


def _write(folder: Path, name: str, data: dict) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _pipeline_calling(tmp_path: Path, parameters: dict) -> Document:
    _write(tmp_path, "templates/steps/t.yml", STEPS_TEMPLATE)
    job = {"job": "a", "steps": [{"template": "templates/steps/t.yml", "parameters": parameters}]}
    return load(_write(tmp_path, "p.yml", {"trigger": "none", "jobs": [job]}))


def test_schema_flags_a_misspelled_step_property_and_a_missing_task_input():
    steps = {"steps": [{"bash": "x", "displayNam": "y"}, {"task": "Cache@2", "inputs": {"key": "k"}}]}
    errors = schema_errors(Document(Path("t.yml"), steps, "steps"))
    assert any("displayNam" in e for e in errors)
    assert any("'path' is a required property" in e for e in errors)


def test_schema_false_positives_are_not_reported():
    job = {"job": "${{ parameters.name }}_x", "timeoutInMinutes": 60, "dependsOn": "${{ parameters.deps }}"}
    job["steps"] = [{"bash": "x"}]
    assert schema_errors(Document(Path("t.yml"), {"jobs": [job]}, "jobs")) == []


def test_binding_flags_undeclared_missing_mistyped_and_out_of_range_parameters(tmp_path):
    findings = template_findings(
        _pipeline_calling(tmp_path, {"stak": "dev", "attempts": "many", "mode": "c"})
    )
    assert any("passes parameter 'stak'" in f for f in findings)
    assert any("required parameter 'stack'" in f for f in findings)
    assert any("'attempts'" in f and "not a number" in f for f in findings)
    assert any("'mode'" in f and "not one of ['a', 'b']" in f for f in findings)
    assert template_findings(_pipeline_calling(tmp_path, {"stack": "dev", "attempts": 2})) == []


def test_a_missing_template_file_is_reported(tmp_path):
    job = {"job": "a", "steps": [{"template": "templates/steps/nope.yml"}]}
    findings = template_findings(load(_write(tmp_path, "p.yml", {"jobs": [job]})))
    assert any("does not resolve to a file" in f for f in findings)


def test_depends_on_a_job_that_does_not_exist_is_reported(tmp_path):
    jobs = [
        {"job": "a", "steps": [{"bash": "x"}]},
        {"job": "b", "dependsOn": ["a", "c"], "steps": [{"bash": "x"}]},
    ]
    findings = template_findings(load(_write(tmp_path, "p.yml", {"jobs": jobs})))
    assert findings and "dependsOn 'c'" in findings[0]


def test_anchors_and_aliases_are_reported(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text(
        "x: &pool {vmImage: ubuntu-24.04}\njobs:\n  - job: a\n    pool: *pool\n    steps: [{bash: x}]\n"
    )
    assert len(anchors_and_aliases(path)) == 2
    assert "anchors/aliases" in check_file(path)[0]


def test_house_rules_flag_continue_on_error_unpinned_tasks_and_secrets_in_scripts():
    steps = [
        {"bash": "train.sh", "continueOnError": True},
        {"task": "AzureCLI", "inputs": {"azureSubscription": "sc", "scriptType": "bash"}},
        {"bash": "pulumi login --token $(PULUMI_ACCESS_TOKEN)"},
        {"task": "AzureCLI@2", "inputs": {"inlineScript": "curl -H 'x: $(apiKey)' https://x"}},
    ]
    findings = rule_findings(Document(Path("t.yml"), {"steps": steps}, "steps"))
    assert len(findings) == 4
    assert "continueOnError" in findings[0]
    assert "not pinned" in findings[1]
    assert all("secret on a command line" in f for f in findings[2:])


def test_a_secret_mapped_through_env_is_accepted():
    step = {"bash": "pulumi login", "env": {"PULUMI_ACCESS_TOKEN": "$(PULUMI_ACCESS_TOKEN)"}}
    assert rule_findings(Document(Path("t.yml"), {"steps": [step]}, "steps")) == []
