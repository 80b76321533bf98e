"""Batch deployment and invocation: the job name becomes the output the wait chain reads."""

import pytest

from pipelines.scripts import batch_invoke, cli, exit_codes
from tests.pipelines.aml_fakes import WORKSPACE_ARGS, FakeBatch


def test_deploys_then_invokes_and_publishes_the_job_name_with_fake_ml_client(tmp_path, capsys):
    spec = tmp_path / "batch-deployment.yml"
    spec.write_text("name: placeholder\n")
    batch = FakeBatch()
    argv = [
        *WORKSPACE_ARGS,
        "--endpoint", "churn-batch",
        "--deployment", "main",
        "--deployment-spec", str(spec),
        "--model", "azureml:churn:3",
        "--input", "input_data=azureml://datastores/datalake_curated/paths/scoring/",
    ]  # fmt: skip
    assert cli.run(lambda a: batch_invoke.main(a, api=batch), argv) == exit_codes.SUCCESS
    assert batch.deployed == [("churn-batch", "main", "batch-deployment.yml", "azureml:churn:3")]
    assert batch.invoked == [
        (
            "churn-batch",
            "main",
            {"input_data": "azureml://datastores/datalake_curated/paths/scoring/"},
            "uri_folder",
        )
    ]
    assert "##vso[task.setvariable variable=amlJobName;isOutput=true]batchjob-42" in capsys.readouterr().out


def test_a_spec_without_a_deployment_name_is_refused_before_any_call(tmp_path, capsys):
    spec = tmp_path / "d.yml"
    spec.write_text("name: x\n")
    batch = FakeBatch()
    argv = [
        *WORKSPACE_ARGS,
        "--endpoint",
        "churn-batch",
        "--deployment-spec",
        str(spec),
        "--input",
        "a=azureml:d:1",
    ]
    assert cli.run(lambda a: batch_invoke.main(a, api=batch), argv) == exit_codes.USAGE
    assert "--deployment-spec" in capsys.readouterr().out
    assert (batch.deployed, batch.invoked) == ([], [])


@pytest.mark.parametrize(
    ("inputs", "message"),
    [(["a=/local/path"], "uri must start with"), (["noequals"], "name=uri")],
)
def test_bad_inputs_are_refused_naming_the_argument(inputs, message, capsys):
    argv = [*WORKSPACE_ARGS, "--endpoint", "churn-batch"] + [x for i in inputs for x in ("--input", i)]
    with pytest.raises(SystemExit):
        batch_invoke.main(argv, api=FakeBatch())
    err = capsys.readouterr().err
    assert "--input" in err and message in err


def test_duplicate_input_names_are_refused(capsys):
    argv = [
        *WORKSPACE_ARGS,
        "--endpoint",
        "churn-batch",
        "--input",
        "a=azureml:x:1",
        "--input",
        "a=azureml:y:1",
    ]
    assert cli.run(lambda a: batch_invoke.main(a, api=FakeBatch()), argv) == exit_codes.USAGE
    assert "--input names must be unique" in capsys.readouterr().out


def test_overrides_change_the_deployment_spec_before_it_is_applied(tmp_path):
    """The CD sizes batch scoring from the stack (`resources.instance_count`) and pins the environment; `--set`
    wins over `--overrides` for the same path, as in aml_job_submit."""
    spec = tmp_path / "d.yml"
    spec.write_text("name: x\n")
    batch = FakeBatch()
    argv = [
        *WORKSPACE_ARGS,
        "--endpoint", "churn-batch", "--deployment", "main", "--deployment-spec", str(spec),
        "--overrides", '{"resources.instance_count": "2", "environment": "azureml:env:1"}',
        "--set", "resources.instance_count=8",
        "--input", "a=azureml:d:1",
    ]  # fmt: skip
    assert cli.run(lambda a: batch_invoke.main(a, api=batch), argv) == exit_codes.SUCCESS
    assert batch.overrides == [{"resources.instance_count": "8", "environment": "azureml:env:1"}]


def test_overrides_without_a_spec_are_refused_before_any_call(capsys):
    batch = FakeBatch()
    argv = [*WORKSPACE_ARGS, "--endpoint", "churn-batch", "--set", "resources.instance_count=8",
            "--input", "a=azureml:d:1"]  # fmt: skip
    assert cli.run(lambda a: batch_invoke.main(a, api=batch), argv) == exit_codes.USAGE
    assert "pass --deployment-spec too" in capsys.readouterr().out
    assert (batch.deployed, batch.invoked) == ([], [])
