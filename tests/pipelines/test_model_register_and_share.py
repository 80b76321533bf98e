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
            "tags": {
                "team": "ml",
                "source_job": "train_abc",
                "source": "azureml://jobs/train_abc/outputs/model",
            },
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
    same = {"source": "azureml://jobs/train_abc/outputs/model"}
    models = FakeModels(registry_contents={("mlops-registry", "churn", "1"): same})
    assert _run(models, "--job-name", "train_abc", "--registry", "mlops-registry") == 0
    assert models.shared == []


def test_a_registry_version_holding_another_model_is_refused_with_fake_ml_client(capsys):
    """A dev workspace rebuilt from scratch numbers its versions from 1 again: churn:1 in the registry is the
    old model. Azure ML registry versions are immutable (a share onto it fails, the fake refuses it too), so
    the rerun's "already shared" shortcut would release the old model under the new one's name: refuse.
    https://learn.microsoft.com/azure/machine-learning/how-to-share-models-pipelines-across-workspaces-with-registries
    """
    old = {"source": "azureml://jobs/train_from_last_year/outputs/model"}
    models = FakeModels(registry_contents={("mlops-registry", "churn", "1"): old})
    assert _run(models, "--job-name", "train_abc", "--registry", "mlops-registry") == exit_codes.FAILED
    assert models.shared == []
    out = capsys.readouterr().out
    assert "already has churn:1 from azureml://jobs/train_from_last_year/outputs/model" in out
    assert "registryModelUri" not in out


def test_a_registry_version_without_its_source_is_refused_with_fake_ml_client(capsys):
    models = FakeModels(registry_contents={("mlops-registry", "churn", "1"): {"team": "ml"}})
    assert _run(models, "--job-name", "train_abc", "--registry", "mlops-registry") == exit_codes.FAILED
    assert "without a 'source' tag" in capsys.readouterr().out


def test_a_first_share_records_the_source_on_the_registry_copy_with_fake_ml_client():
    models = FakeModels()
    assert _run(models, "--job-name", "train_abc", "--registry", "mlops-registry") == 0
    # The rerun finds its own copy and accepts it.
    assert (
        _run(
            models, "--job-name", "train_abc", "--registry", "mlops-registry", "--registry-model-version", "1"
        )
        == 0
    )
    assert len(models.shared) == 1


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
