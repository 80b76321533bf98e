"""The handler and the project template agree on names, so neither can drift alone: a project generated through
the cookiecutter API writes its tags with its own governance module, and the handler reads every one of them; the
generated monitor's signals name the model the handler retrains; the generated CD tags the training job where the
handler looks for the triggering event."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from lifecycle_handler.decisions import GOVERNANCE_TAGS, RUN_TAGS, decide
from lifecycle_handler.events import parse_event
from lifecycle_handler.handler import handle

from tests.functions.conftest import Boundary, load, settings
from tests.templates.generation import VENV_BIN, generate

pytestmark = pytest.mark.slow

# A slug that itself contains "monitor", so the monitor's name `<slug>-monitor` holds the word twice.
PROJECT_NAME = "Churn Monitor Risk"
EVENT_ID = "4e6a8c0e-2b4d-4f6a-9c1e-5a7b9c1d3e5f"

# Run inside the generated project: its governance module's tag constants, and the tags its own functions
# write on a version that was retrained for an event and then approved.
_PROBE = """
import json, sys
from datetime import UTC, datetime
from importlib import import_module
package = sys.argv[1]
governance = import_module(package + ".governance")
settings = import_module(package + ".settings")
constants = {name: value for name, value in vars(governance).items()
             if name.isupper() and isinstance(value, str) and value.startswith("governance.")}
written = (
    governance.Provenance("3f9c2a1e", "https://dev.azure.com/contoso/ml/_build/results?buildId=812",
                          "c0ffee00-run", "churn@9d1e4c7a").tags()
    | governance.triggering_event_tags(sys.argv[2])
    | governance.approval_tags("ana@contoso.com", datetime(2026, 11, 3, 9, 30, tzinfo=UTC))
    | {governance.REFERENCE_DATA: "azureml://registries/r/data/churn-monitor-risk-training-data/versions/7"}
)
print(json.dumps({"constants": constants, "written": written, "model_name": settings.MODEL_NAME}))
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("agreement"), project_name=PROJECT_NAME)


@pytest.fixture(scope="module")
def template(project: Path) -> dict[str, Any]:
    package = next(path.name for path in (project / "src").iterdir() if (path / "governance.py").is_file())
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    result = subprocess.run([VENV_BIN / "python", "-c", _PROBE, package, EVENT_ID], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_handler_reads_exactly_the_governance_tags_the_template_defines(template: dict[str, Any]) -> None:
    constants = template["constants"]
    assert len(constants) == len(set(constants.values())) >= 8
    assert set(GOVERNANCE_TAGS.values()) == set(constants.values())


def test_every_tag_the_template_writes_lands_in_the_audit_record(
    template: dict[str, Any], boundary: Boundary
) -> None:
    written: dict[str, str] = template["written"]
    assert set(written) == set(GOVERNANCE_TAGS.values()), "the probe writes every governance tag"
    event = load("model_registered.json")
    event["data"]["ModelName"] = template["model_name"]
    event["subject"] = f"models/{template['model_name']}:{event['data']['ModelVersion']}"
    event["data"]["ModelTags"] = written
    outcome = handle(event, settings(), boundary.deps)
    assert outcome.decision is not None
    assert outcome.decision.provenance == {field: written[tag] for field, tag in GOVERNANCE_TAGS.items()}
    record = boundary.audit.records[("lifecycle-event", event["id"])]
    assert (record["GitCommit"], record["Approver"], record["ApprovedAt"], record["TriggeringEvent"]) == (
        "3f9c2a1e",
        "ana@contoso.com",
        "2026-11-03T09:30:00+00:00",
        EVENT_ID,
    )


def test_each_signal_of_the_generated_monitor_names_the_projects_model(
    project: Path, template: dict[str, Any]
) -> None:
    monitor = yaml.safe_load((project / "aml" / "monitoring.yml").read_text(encoding="utf-8"))
    signals = list(monitor["create_monitor"]["monitoring_signals"])
    assert signals, "the template's monitor has signals"
    assert template["model_name"] == "churn-monitor-risk"
    for signal in signals:
        event = load("monitor_breach_template_monitor.json")
        # The breach message names `<monitor name>_<signal name>`; the run carries no model_name tag.
        message = event["data"]["runTags"]["azureml_modelmonitor_threshold_breached"]
        event["data"]["runTags"] = {
            "azureml_modelmonitor_threshold_breached": message.replace(
                "credit-default-monitor_feature_drift", f"{monitor['name']}_{signal}"
            )
        }
        decision = decide(parse_event(event))
        assert decision.model_name == template["model_name"], (monitor["name"], signal)


def test_the_generated_cd_tags_the_training_job_where_the_handler_looks(project: Path) -> None:
    cd = yaml.safe_load((project / ".azure-pipelines" / "cd.yml").read_text(encoding="utf-8"))
    overrides: dict[str, Any] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.startswith(("tags.", "inputs.")):
                    overrides[key] = value
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(cd)
    assert overrides[f"tags.{RUN_TAGS['triggering_event']}"] == "${{ parameters.triggeringEventId }}"
