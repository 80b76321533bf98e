"""Governance tags: every registered version says where it came from; promotion adds who approved it and when."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import cli, governance, promote, reference
from {{ cookiecutter.package_name }}.evaluate import judge
from {{ cookiecutter.package_name }}.gate import GateConfig
from {{ cookiecutter.package_name }}.handoff import Candidate, Registration
from {{ cookiecutter.package_name }}.prep import PreparedData
from {{ cookiecutter.package_name }}.register import register

GITHUB_RUN = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "team/model",
    "GITHUB_RUN_ID": "99",
}


class FakeModels:
    def __init__(self) -> None:
        self.shared: list[dict[str, str]] = []

    def share(self, **kwargs: str) -> None:
        self.shared.append(kwargs)


class FakeJobs:
    """Writes a pipeline job's named outputs where the SDK puts them: registered.json, and the reference MLTable
    folder when `prepared` (prep's output) is given."""

    def __init__(self, registration: Registration | None, prepared: PreparedData | None = None) -> None:
        self.registration = registration
        self.prepared = prepared

    def download(self, name: str, output_name: str, download_path: str) -> None:
        folder = Path(download_path) / "named-outputs" / output_name
        if output_name == promote.REGISTERED_OUTPUT and self.registration is not None:
            self.registration.write(folder)
        if output_name == promote.TRAINING_DATA_OUTPUT and self.prepared is not None:
            reference.write_mltable(self.prepared.train.parent, folder)


class FakeData:
    """The registry's data operations: what was created, as the SDK's own Data entities."""

    def __init__(self) -> None:
        self.created: list[Any] = []

    def create_or_update(self, data: Any) -> Any:
        self.created.append(data)
        return data


def fake_ml_client(registration: Registration | None = None, prepared: PreparedData | None = None) -> Any:
    return SimpleNamespace(models=FakeModels(), jobs=FakeJobs(registration, prepared))


@pytest.fixture
def registered(
    good_candidate: Candidate, prepared: PreparedData, model_name: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A version registered by a GitHub Actions run from a git checkout."""
    for key, value in GITHUB_RUN.items():
        monkeypatch.setenv(key, value)
    MlflowClient().set_tag(good_candidate.run_id, "mlflow.source.git.commit", "0123abcd")
    verdict = judge(good_candidate, pd.read_parquet(prepared.test), GateConfig.load(), model_name)
    return str(register(verdict, model_name).version)


def test_a_registered_version_carries_its_provenance(
    registered: str, good_candidate: Candidate, model_name: str
) -> None:
    tags = MlflowClient().get_model_version(model_name, registered).tags
    digest = MlflowClient().get_run(good_candidate.run_id).inputs.dataset_inputs[0].dataset.digest

    assert tags[governance.GIT_COMMIT] == "0123abcd"
    assert tags[governance.PIPELINE_RUN] == "https://github.com/team/model/actions/runs/99"
    assert tags[governance.TRAINING_JOB] == good_candidate.run_id
    assert tags[governance.DATA_VERSION] == f"train@{digest}"
    assert governance.APPROVED_BY not in tags, "nobody approved anything yet"


def test_promotion_records_the_approver_and_the_ci_context_then_shares_that_version(
    registered: str, model_name: str
) -> None:
    client = fake_ml_client()
    args = promote.build_parser().parse_args([
        "--version", registered, "--model-name", model_name, "--approved-by", "ana@contoso.com",
        "--git-commit", "feedbeef", "--training-job", "quiet_lamp_42", "--pipeline-run", "https://ci/run/7",
    ])  # fmt: skip

    uri = promote.promote(client, model_name, registered, "shared", tags=promote.governance_tags(args))

    assert uri == f"azureml://registries/shared/models/{model_name}/versions/{registered}"
    assert client.models.shared == [{"name": model_name, "version": registered, "registry_name": "shared",
                                     "share_with_name": model_name, "share_with_version": registered}]  # fmt: skip
    tags = MlflowClient().get_model_version(model_name, registered).tags
    assert tags[governance.APPROVED_BY] == "ana@contoso.com"
    assert tags[governance.APPROVED_AT].endswith("+00:00")
    assert tags[governance.GIT_COMMIT] == "feedbeef"
    assert tags[governance.TRAINING_JOB] == "quiet_lamp_42"
    assert tags[governance.PIPELINE_RUN] == "https://ci/run/7"
    assert tags[governance.DATA_VERSION].startswith("train@"), "promotion must not erase the data version"


def test_a_rerun_after_the_copy_exists_tags_again_but_does_not_share_twice(
    registered: str, model_name: str
) -> None:
    client = fake_ml_client()
    promote.promote(
        client, model_name, registered, "shared", tags={governance.APPROVED_BY: "bo"}, already_shared=True
    )
    assert client.models.shared == []
    assert MlflowClient().get_model_version(model_name, registered).tags[governance.APPROVED_BY] == "bo"


def test_the_version_to_promote_comes_from_the_training_jobs_output(tmp_path: Path) -> None:
    registration = Registration("m", "7", "models:/m-1")
    assert promote.registration_from_job(fake_ml_client(registration), "job", tmp_path) == registration
    with pytest.raises(promote.RegistrationNotFoundError, match="gate rejected the candidate"):
        promote.registration_from_job(fake_ml_client(None), "job", tmp_path / "empty")


def test_a_retraining_queued_by_a_monitor_breach_names_its_event_on_the_version(
    good_candidate: Candidate, prepared: PreparedData, model_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    verdict = judge(good_candidate, pd.read_parquet(prepared.test), GateConfig.load(), model_name)
    version = str(register(verdict, model_name, triggering_event="evt-0b2f8c1e").version)

    tags = MlflowClient().get_model_version(model_name, version).tags
    assert tags[governance.TRIGGERING_EVENT] == "evt-0b2f8c1e"
    assert tags[governance.TRAINING_JOB] == good_candidate.run_id, "the event adds to the provenance"
    assert governance.main(["history", "--model-name", model_name]) == 0
    assert "retrained for event evt-0b2f8c1e" in capsys.readouterr().out


def test_a_push_or_manual_run_records_no_event(registered: str, model_name: str) -> None:
    assert governance.TRIGGERING_EVENT not in MlflowClient().get_model_version(model_name, registered).tags
    assert governance.triggering_event_tags(governance.NO_EVENT) == {}


def test_promotion_copies_the_jobs_reference_table_into_the_registry_at_the_model_version(
    prepared: PreparedData, tmp_path: Path
) -> None:
    pytest.importorskip("azure.ai.ml", reason="needs the `azure` extra: make setup")
    from azure.ai.ml.entities._data.mltable_metadata import MLTableMetadata

    client = fake_ml_client(Registration("m", "7", "models:/m-1"), prepared)
    table = promote.reference_table_from_job(client, "quiet_lamp_42", tmp_path / "download")
    registry_data = FakeData()

    uri = promote.promote_reference_data(registry_data, table, "shared", "7", exists=False)

    assert uri == f"azureml://registries/shared/data/{reference.REFERENCE_DATA_NAME}/versions/7"
    (data,) = registry_data.created
    assert (data.name, data.version, data.type) == (reference.REFERENCE_DATA_NAME, "7", "mltable")
    # What the registry receives is a table Azure ML can read: the SDK's own MLTable schema, and the rows.
    metadata = MLTableMetadata.load(Path(data.path) / reference.MLTABLE_FILE)
    assert metadata.paths[0].value == f"./{reference.DATA_FILE}"
    pd.testing.assert_frame_equal(
        pd.read_parquet(Path(data.path) / reference.DATA_FILE), pd.read_parquet(prepared.train)
    )
    assert promote.promote_reference_data(registry_data, table, "shared", "7", exists=True) == uri
    assert len(registry_data.created) == 1, "registry versions are immutable: a re-run creates nothing"


def test_a_job_without_a_reference_table_is_reported(tmp_path: Path) -> None:
    with pytest.raises(promote.ReferenceDataNotFoundError, match="training_data"):
        promote.reference_table_from_job(fake_ml_client(), "job", tmp_path)


def test_promote_needs_exactly_one_way_to_name_the_version() -> None:
    with pytest.raises(SystemExit):
        promote.build_parser().parse_args([])
    with pytest.raises(SystemExit):
        promote.build_parser().parse_args(["--version", "1", "--from-job", "j"])


def test_history_answers_who_approved_what_and_when(
    registered: str, model_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    promote.promote(fake_ml_client(), model_name, registered, "shared", tags=governance.approval_tags("ana"))

    rows = governance.history(MlflowClient(), model_name, approved_only=True)

    assert [row.version for row in rows] == [registered]
    assert governance.main(["history", "--model-name", model_name]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"v{registered} | registered ")
    assert "approved by ana at " in line and "commit 0123abcd" in line and "data train@" in line


def test_outputs_reach_azure_pipelines_and_github_actions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    github_output = tmp_path / "github_output"
    cli.publish_outputs({"modelVersion": "3"}, {"TF_BUILD": "True", "GITHUB_OUTPUT": str(github_output)})
    assert "##vso[task.setvariable variable=modelVersion;isOutput=true]3" in capsys.readouterr().out
    assert github_output.read_text() == "modelVersion=3\n"


def test_the_pipeline_run_of_azure_pipelines_is_its_results_page() -> None:
    environ = {
        "SYSTEM_COLLECTIONURI": "https://dev.azure.com/org/",
        "SYSTEM_TEAMPROJECT": "ml",
        "BUILD_BUILDID": "5",
    }
    assert governance.pipeline_run_url(environ) == "https://dev.azure.com/org/ml/_build/results?buildId=5"
    assert json.dumps(governance.approval_tags("x"))  # plain strings: MLflow and Azure ML tags both take them


def test_a_registry_version_made_from_another_run_is_never_reused() -> None:
    """A dev workspace rebuilt from scratch numbers its versions from 1 again, and registry versions are immutable:
    the registry's `name:1` may be last year's model. Promotion reuses a registry version only when it was made
    from the candidate's own run, and refuses before anything is tagged or shared otherwise.
    https://learn.microsoft.com/azure/machine-learning/how-to-share-models-pipelines-across-workspaces-with-registries
    """
    old = SimpleNamespace(tags={promote.SOURCE_RUN: "run-of-last-year"}, job_name=None)
    with pytest.raises(
        promote.RegistryVersionConflictError, match="from run run-of-last-year, but the candidate"
    ):
        promote.already_shared(old, "churn", "1", "shared", "run-today")
    unknown = SimpleNamespace(tags={}, job_name=None)
    with pytest.raises(promote.RegistryVersionConflictError, match="from run unknown"):
        promote.already_shared(unknown, "churn", "1", "shared", "run-today")
    own = SimpleNamespace(tags={promote.SOURCE_RUN: "run-today"}, job_name=None)
    assert promote.already_shared(own, "churn", "1", "shared", "run-today") is True
    assert promote.already_shared(None, "churn", "1", "shared", "run-today") is False


def test_the_registry_is_the_stacks_not_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry's name comes from the platform's stack (variable AML_REGISTRY_NAME), never from the template."""
    monkeypatch.setenv(promote.REGISTRY_VARIABLE, "mlreg-mlops-prod")
    assert promote.build_parser().parse_args(["--version", "3"]).registry == "mlreg-mlops-prod"
    monkeypatch.delenv(promote.REGISTRY_VARIABLE)
    assert promote.build_parser().parse_args(["--version", "3"]).registry == ""
