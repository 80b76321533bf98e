"""Model registration from a job output and sharing to an Azure ML registry."""

import pytest

from pipelines.scripts import cli, exit_codes, model_register
from tests.pipelines.aml_fakes import WORKSPACE_ARGS, FakeModels


def _run(models: FakeModels, *extra: str) -> int:
    return cli.run(lambda a: model_register.main(a, api=models), [*WORKSPACE_ARGS, "--name", "churn", *extra])


def test_registers_from_the_job_output_and_shares_to_the_registry_with_fake_ml_client(capsys):
    models = FakeModels()
    assert _run(models, "--job-name", "train_abc", "--registry", "mlops-registry", "--tag", "team=ml") == 0
    assert models.registered == [
        {
            "name": "churn",
            "path": "azureml://jobs/train_abc/outputs/model",
            "type": "mlflow_model",
            "description": "",
            "tags": {"team": "ml", "source_job": "train_abc"},
        }
    ]
    assert models.shared == [{"name": "churn", "version": "1", "registry": "mlops-registry"}]
    out = capsys.readouterr().out
    assert "variable=modelVersion;isOutput=true]1" in out
    assert (
        "variable=registryModelUri;isOutput=true]azureml://registries/mlops-registry/models/churn/versions/1"
        in out
    )


def test_a_rerun_does_not_share_a_version_the_registry_already_has_with_fake_ml_client():
    models = FakeModels(registry_contents={("mlops-registry", "churn", "1")})
    assert _run(models, "--job-name", "train_abc", "--registry", "mlops-registry") == 0
    assert models.shared == []


def test_without_a_registry_the_model_stays_in_the_workspace_with_fake_ml_client(capsys):
    models = FakeModels()
    assert (
        _run(models, "--path", "azureml://datastores/workspaceblobstore/paths/model/", "--registry", "") == 0
    )
    assert models.shared == []
    assert "registryModelUri" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--job-name", "j1", "--path", "azureml://x"], "--path"),
        (["--job-name", "j1", "--tag", "novalue"], "--tag"),
        (["--job-name", "j1", "--model-type", "onnx"], "--model-type"),
        (["--job-name", "j1", "--registry", "bad name"], "--registry"),
    ],
)
def test_cli_rejects_bad_arguments_naming_the_argument(extra, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        model_register.main([*WORKSPACE_ARGS, "--name", "churn", *extra], api=FakeModels())
    assert exit_info.value.code == exit_codes.USAGE
    assert named in capsys.readouterr().err
