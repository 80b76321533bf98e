"""The Azure flow end to end with the Azure client boundary faked (the `aml_boundary` Protocols and the
example's own two), on a really generated project whose specs the real `azure.ai.ml` loaders validate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_e2e import flow
from azure_e2e.boundary import AzureApis
from run_azure_e2e import Prepared, build_parser, deploy, main, prepare

from tests.examples.test_azure_e2e_stack_outputs import write_outputs
from tests.pipelines.aml_fakes import FakeBatch, FakeJobs, FakeModels, FakeOnlineEndpoint

pytestmark = pytest.mark.slow  # generates a project and imports azure.ai.ml in a subprocess (~10 s, once)

LOADERS = {
    "pipeline.yml": "load_job",
    "environment.yml": "load_environment",
    "endpoint.yml": "load_online_endpoint",
    "blue.yml": "load_online_deployment",
    "deployment.yml": "load_batch_deployment",
}


class FakeAzure:
    """Every Protocol the flow calls, in memory: the pipelines fakes plus environments, endpoints, champion."""

    def __init__(
        self, jobs: FakeJobs, champion: tuple[str, str] | None = ("3", "run-3"), **parts: Any
    ) -> None:
        self.jobs = jobs
        self.online = parts.get("online") or FakeOnlineEndpoint({"blue": 100})
        self.models = parts.get("models") or FakeModels()
        self.batch = parts.get("batch") or FakeBatch()
        self.found = champion
        self.assets: list[Path] = []

    def __getattr__(self, name: str) -> Any:
        for part in (self.jobs, self.online, self.models, self.batch):
            if hasattr(part, name):
                return getattr(part, name)
        raise AttributeError(name)

    def create_or_update_environment(self, spec: Path) -> str:
        self.assets.append(spec)
        return "diabetes-progression-env:7"

    def ensure_online_endpoint(self, spec: Path) -> None:
        self.assets.append(spec)

    def ensure_batch_endpoint(self, spec: Path) -> None:
        self.assets.append(spec)

    def champion(self, model: str) -> tuple[str, str] | None:
        return self.found

    def submitted_specs(self) -> list[Path]:
        batch_specs = [self.project_root / "aml" / "batch" / name for _, _, name, _ in self.batch.deployed]
        return [*self.assets, *(spec for spec, _ in self.jobs.submitted), *batch_specs]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    folder = tmp_path_factory.mktemp("azure-e2e")
    args = build_parser().parse_args(["--outputs-file", str(write_outputs(folder)), "--workdir", str(folder)])
    return prepare(args)


def _deploy(prepared: Prepared, azure: FakeAzure, *extra: str) -> int:
    azure.project_root = prepared.project.root
    args: argparse.Namespace = build_parser().parse_args(
        ["--poll-seconds", "0.01", "--step-wait-seconds", "0", "--traffic-steps", "50,100", *extra]
    )
    fake: AzureApis = azure  # type: ignore[assignment] - structurally complete, checked by the calls below
    return deploy(args, prepared, fake)


def test_the_whole_flow_trains_promotes_releases_and_batch_scores_with_fake_ml_client(
    prepared: Prepared,
) -> None:
    azure = FakeAzure(FakeJobs(["Running", "Completed"]))
    assert _deploy(prepared, azure) == 0
    project = prepared.project
    assert azure.jobs.submitted == [(project.root / "aml" / "pipeline.yml", "diabetes-progression")]
    # One sweep trial per node of the stack's CPU cluster (output cpuClusterMaxNodes), as the generated CD sets it.
    assert azure.jobs.overrides[0]["jobs.train.limits.max_concurrent_trials"] == "2"
    assert azure.models.registered == []  # the pipeline's register step made v3: no duplicate version
    assert azure.models.shared == [
        {"name": "diabetes-progression", "version": "3", "registry": "mlreg-mlops"}
    ]
    registry_uri = "azureml://registries/mlreg-mlops/models/diabetes-progression/versions/3"
    assert ("create", "green", registry_uri) in azure.online.calls
    assert azure.online.traffic == {"blue": 0, "green": 100}
    invoked = [call for call in azure.online.calls if call[0] == "invoke"]
    assert invoked[-1] == ("invoke", "green", 100)
    endpoint, deployment, inputs, input_type = azure.batch.invoked[0]
    assert (endpoint, deployment, input_type) == (project.batch_endpoint, "mlflow", "uri_folder")
    assert inputs == {"scoring": "azureml://datastores/datalake_raw/paths/scoring/"}
    assert azure.batch.deployed[0][3] == registry_uri


def test_every_spec_it_submits_passes_the_azure_ml_loaders(prepared: Prepared) -> None:
    import azure.ai.ml

    fake = FakeAzure(FakeJobs(["Completed"]))
    assert _deploy(prepared, fake) == 0
    submitted = [*fake.submitted_specs(), prepared.project.root / "aml" / "online" / "blue.yml"]
    assert {spec.name for spec in submitted} == set(LOADERS)
    for spec in submitted:
        assert spec in prepared.validated  # the flow validated it before the first Azure call
        entity = getattr(azure.ai.ml, LOADERS[spec.name])(source=spec)
        assert entity is not None


def test_the_request_is_in_the_managed_endpoint_format(prepared: Prepared) -> None:
    body = json.loads(prepared.request.read_text())
    assert set(body) == {"input_data"}
    assert len(body["input_data"]["data"]) == 3 and "bmi" in body["input_data"]["columns"]


def test_the_project_promotes_to_the_stack_registry(prepared: Prepared) -> None:
    # The template names no registry (only the stack knows it): the flow shares into the stack's amlRegistryName.
    blue = yaml.safe_load((prepared.project.root / "aml" / "online" / "blue.yml").read_text())
    assert not blue["model"].startswith("azureml://registries/")
    azure = FakeAzure(FakeJobs(["Completed"]))
    assert _deploy(prepared, azure) == 0
    assert [shared["registry"] for shared in azure.models.shared] == ["mlreg-mlops"]


def test_a_rejected_gate_stops_before_promotion_with_fake_ml_client(
    prepared: Prepared, capsys: pytest.CaptureFixture[str]
) -> None:
    azure = FakeAzure(FakeJobs(["Running", "Failed"]))
    with pytest.raises(
        flow.TrainingRejectedError, match=r"a rejected gate fails `evaluate`.*champion is unchanged"
    ):
        _deploy(prepared, azure)
    assert azure.models.shared == [] and azure.online.calls == [] and azure.batch.invoked == []


def test_a_failing_new_colour_is_rolled_back_with_fake_ml_client(prepared: Prepared) -> None:
    online = FakeOnlineEndpoint({"blue": 100})
    online.healthy = lambda deployment, percent: deployment != "green" or percent < 50
    azure = FakeAzure(FakeJobs(["Completed"]), online=online)
    assert _deploy(prepared, azure) == 1
    assert online.traffic == {"blue": 100}  # the split captured before the release, exactly
    assert azure.batch.invoked == []


def test_a_rerun_does_not_share_a_version_twice_with_fake_ml_client(prepared: Prepared) -> None:
    models = FakeModels(
        {("mlreg-mlops", "diabetes-progression", "3"): {"source": "azureml:diabetes-progression:3"}}
    )
    azure = FakeAzure(FakeJobs(["Completed"]), models=models)
    assert _deploy(prepared, azure) == 0
    assert models.shared == []


def test_no_champion_means_nothing_to_promote_with_fake_ml_client(prepared: Prepared) -> None:
    azure = FakeAzure(FakeJobs(["Completed"]), champion=None)
    with pytest.raises(flow.TrainingRejectedError, match=r"diabetes-progression has no @champion"):
        _deploy(prepared, azure)


def test_validate_only_touches_no_azure(tmp_path: Path) -> None:
    assert (
        main(["--outputs-file", str(write_outputs(tmp_path)), "--workdir", str(tmp_path), "--validate-only"])
        == 0
    )


def test_bad_outputs_exit_2_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_outputs(tmp_path, amlRegistryName="")
    assert main(["--outputs-file", str(path), "--workdir", str(tmp_path)]) == 2
    assert "amlRegistryName" in capsys.readouterr().err
