"""Job submission with overrides: what a pipeline passes reaches the YAML the SDK submits, and bad input stops early."""

import json

import pytest

from pipelines.scripts import aml_job_submit, cli, exit_codes
from pipelines.scripts.aml_client import load_job_spec
from tests.pipelines.aml_fakes import WORKSPACE_ARGS, FakeJobs

PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
experiment_name: churn
settings:
  default_compute: azureml:cpu-cluster
inputs:
  triggering_event_id: none
outputs:
  training_data:
    type: mltable
    name: churn-training-data
jobs:
  register:
    type: command
    environment: azureml:churn-env@latest
    command: echo ${{inputs.triggering_event_id}} > ${{outputs.training_data}}/MLTable
    inputs:
      triggering_event_id: ${{parent.inputs.triggering_event_id}}
    outputs:
      training_data: ${{parent.outputs.training_data}}
"""


@pytest.fixture
def job_file(tmp_path):
    path = tmp_path / "pipeline.yml"
    path.write_text(PIPELINE)
    return path


def test_set_and_a_json_object_both_reach_the_submission(job_file, capsys):
    jobs = FakeJobs(["Completed"])
    argv = [
        *WORKSPACE_ARGS, "--job-file", str(job_file),
        "--overrides", json.dumps({"inputs.triggering_event_id": "evt-1", "tags.reason": "drift"}),
        "--set", "tags.reason=monitor breach",
    ]  # fmt: skip
    assert cli.run(lambda a: aml_job_submit.main(a, jobs=jobs), argv) == exit_codes.SUCCESS
    assert jobs.overrides == [{"inputs.triggering_event_id": "evt-1", "tags.reason": "monitor breach"}]
    assert "##vso[task.setvariable variable=amlJobName;isOutput=true]job-0001" in capsys.readouterr().out


def test_an_empty_object_is_no_override(job_file):
    """What the aml-job.yml template passes when the caller gives none (convertToJson of {})."""
    jobs = FakeJobs(["Completed"])
    argv = [*WORKSPACE_ARGS, "--job-file", str(job_file), "--overrides", "{}"]
    assert cli.run(lambda a: aml_job_submit.main(a, jobs=jobs), argv) == exit_codes.SUCCESS
    assert jobs.overrides == [{}]


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_the_sdk_loader_applies_the_overrides_before_submission(job_file):
    job = load_job_spec(
        job_file,
        {
            "inputs.triggering_event_id": "evt-1",
            "tags.triggering_event_id": "evt-1",
            "outputs.training_data.version": "42",
        },
    )
    assert job.inputs["triggering_event_id"]._data == "evt-1"
    assert job.tags == {"triggering_event_id": "evt-1"}
    assert (job.outputs["training_data"].name, job.outputs["training_data"].version) == (
        "churn-training-data",
        "42",
    )
    assert load_job_spec(job_file).inputs["triggering_event_id"]._data == "none"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (["--set", "inputs.x"], "must look like path=value"),
        (["--set", "inputs..x=1"], "is not a dotted path into the job YAML"),
        (["--set", "inputs.x="], "must not be empty"),
        (["--set", "tags.run=$(Build.BuildId)"], "unexpanded pipeline variable"),
        (["--overrides", "[1, 2]"], "must be a JSON object"),
        (["--overrides", "{inputs: 1}"], "is not JSON"),
        (["--overrides", '{"inputs.flag": true}'], "must be a string or a number"),
    ],
)
def test_a_malformed_override_is_refused_before_anything_is_submitted(job_file, argument, message, capsys):
    jobs = FakeJobs(["Completed"])
    with pytest.raises(SystemExit) as exit_info:
        aml_job_submit.main([*WORKSPACE_ARGS, "--job-file", str(job_file), *argument], jobs=jobs)
    assert exit_info.value.code == exit_codes.USAGE
    assert message in capsys.readouterr().err
    assert jobs.submitted == []
