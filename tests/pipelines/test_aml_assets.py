"""CD creates and updates what it uses, idempotently: the managed network, the environment versioned from the lock,
the online and batch endpoints. Against a fake workspace (the Azure boundary) that refuses what Azure ML refuses."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.scripts import aml_assets, aml_job_submit, cli, exit_codes
from pipelines.scripts.errors import DeploymentError, InvalidArgumentError
from tests.pipelines.aml_fakes import WORKSPACE_ARGS, FakeJobs

LOCK = "mlflow==3.15.0 \\\n    --hash=sha256:00\nscikit-learn==1.9.1\n# via project\nazure-ai-ml==1.35.2\n"


class FakeWorkspace:
    """WorkspaceAssetsApi in memory. Like Azure ML: an environment version is immutable (registering a version
    that exists with other content is refused); an endpoint update takes the traffic it is given (an update
    without the split routes nothing to the live colour), and traffic may only name existing deployments."""

    def __init__(self, isolation: str = "AllowOnlyApprovedOutbound") -> None:
        self.isolation = isolation
        self.provisioned = 0
        self.environments: dict[tuple[str, str], str] = {}
        self.online: dict[str, dict[str, Any]] = {}
        self.batch: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, set[str]] = {}
        self.writes: list[str] = []

    def managed_network_isolation(self) -> str:
        return self.isolation

    def provision_managed_network(self) -> None:
        if self.isolation == "Disabled":
            raise DeploymentError("HTTP 400: the workspace has no managed network to provision")
        self.provisioned += 1

    def environment_exists(self, name: str, version: str) -> bool:
        return (name, version) in self.environments

    def create_environment(self, spec: Path, *, version: str, conda_file: Path) -> None:
        name = yaml.safe_load(spec.read_text())["name"]
        content = conda_file.read_text()
        if self.environments.get((name, version), content) != content:
            raise DeploymentError(f"HTTP 409: environment {name}:{version} exists with other content")
        self.environments[(name, version)] = content
        self.writes.append(f"environment {name}:{version}")

    def online_endpoint(self, name: str) -> dict[str, Any] | None:
        return dict(self.online[name]) if name in self.online else None

    def apply_online_endpoint(self, spec: Path, *, traffic: Mapping[str, int]) -> None:
        document = yaml.safe_load(spec.read_text())
        unknown = set(traffic) - self.deployments.get(document["name"], set())
        if unknown:
            raise DeploymentError(f"HTTP 400: traffic names deployments that do not exist: {sorted(unknown)}")
        settings = {
            key: document.get(key, aml_assets._ONLINE_DEFAULTS[key])
            for key in aml_assets.ONLINE_ENDPOINT_SETTINGS
        }
        self.online[document["name"]] = {**settings, "traffic": dict(traffic)}
        self.writes.append(f"online {document['name']}")

    def batch_endpoint(self, name: str) -> dict[str, Any] | None:
        return dict(self.batch[name]) if name in self.batch else None

    def apply_batch_endpoint(self, spec: Path, *, default_deployment: str | None) -> None:
        document = yaml.safe_load(spec.read_text())
        self.batch[document["name"]] = {
            "description": document.get("description", ""),
            "tags": document.get("tags", {}),
            "default_deployment": default_deployment,
        }
        self.writes.append(f"batch {document['name']}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    aml = tmp_path / "aml"
    (aml / "online").mkdir(parents=True)
    (aml / "batch").mkdir()
    (aml / "environment.yml").write_text(
        "name: churn-env\nimage: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\nconda_file: conda.yml\n"
    )
    (aml / "conda.yml").write_text(
        "name: churn-env\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n      - mlflow==3.0.0\n"
    )
    (aml / "online" / "endpoint.yml").write_text(
        "name: churn-ep\nauth_mode: aml_token\npublic_network_access: disabled\ndescription: Churn.\n"
    )
    (aml / "batch" / "endpoint.yml").write_text("name: churn-ep-batch\ndescription: Churn batch.\n")
    (tmp_path / "requirements.txt").write_text(LOCK)
    return tmp_path


def _run(api: FakeWorkspace, *argv: str) -> int:
    return cli.run(lambda a: aml_assets.main(a, api=api), [*WORKSPACE_ARGS, *argv])


def _env_args(project: Path, lock: str = "requirements.txt") -> list[str]:
    return ["--environment", str(project / "aml/environment.yml"), "--requirements", str(project / lock)]


def test_the_environment_is_registered_once_per_lock(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Azure ML environment versions are immutable: the version is derived from the content, so an unchanged
    lock finds its version registered and registers nothing.
    https://learn.microsoft.com/azure/machine-learning/how-to-manage-environments-v2
    """
    workspace = FakeWorkspace()
    assert _run(workspace, *_env_args(project)) == exit_codes.SUCCESS
    (key,) = workspace.environments
    assert "environmentUri;isOutput=true]azureml:churn-env:" + key[1] in capsys.readouterr().out
    conda = yaml.safe_load(workspace.environments[key])
    # The lock's pins replace the conda file's pip list: the cluster runs exactly the locked versions.
    assert conda["dependencies"][-1] == {
        "pip": ["mlflow==3.15.0", "scikit-learn==1.9.1", "azure-ai-ml==1.35.2"]
    }
    assert _run(workspace, *_env_args(project)) == exit_codes.SUCCESS
    assert workspace.writes == [f"environment churn-env:{key[1]}"], "a rerun must not register again"


def test_a_changed_pin_gives_a_new_version(project: Path) -> None:
    workspace = FakeWorkspace()
    _run(workspace, *_env_args(project))
    (project / "requirements.txt").write_text(LOCK.replace("scikit-learn==1.9.1", "scikit-learn==1.9.2"))
    _run(workspace, *_env_args(project))
    versions = [version for _, version in workspace.environments]
    assert len(set(versions)) == 2
    assert all(len(version) == 16 for version in versions)


def test_the_training_job_runs_on_exactly_that_version_not_latest(tmp_path: Path) -> None:
    job = tmp_path / "pipeline.yml"
    job.write_text(
        "type: pipeline\njobs:\n  prep:\n    environment: azureml:churn-env@latest\n"
        "  train:\n    environment: azureml:churn-env@latest\n  other:\n    environment: azureml:base:1\n"
        "  sweep:\n    type: sweep\n    trial:\n      environment: azureml:churn-env@latest\n"
    )
    jobs = FakeJobs(["Completed"])
    argv = [*WORKSPACE_ARGS, "--job-file", str(job), "--environment", "azureml:churn-env:0123456789abcdef"]
    assert cli.run(lambda a: aml_job_submit.main(a, jobs=jobs), argv) == exit_codes.SUCCESS
    assert jobs.overrides == [
        {
            "jobs.prep.environment": "azureml:churn-env:0123456789abcdef",
            "jobs.train.environment": "azureml:churn-env:0123456789abcdef",
            # A sweep step's trials run on it too.
            "jobs.sweep.trial.environment": "azureml:churn-env:0123456789abcdef",
        }
    ]
    other = [*WORKSPACE_ARGS, "--job-file", str(job), "--environment", "azureml:unused-env:1"]
    assert cli.run(lambda a: aml_job_submit.main(a, jobs=FakeJobs(["Completed"])), other) == exit_codes.USAGE


def test_the_managed_network_is_provisioned_before_anything_else_and_only_when_it_exists(
    project: Path,
) -> None:
    """Compute and managed online deployments of a workspace with a managed network wait for the network to be
    provisioned; provisioning it up front (idempotent) keeps the first one from failing or stalling.
    https://learn.microsoft.com/azure/machine-learning/how-to-managed-network
    """
    private = FakeWorkspace()
    assert _run(private, "--provision-network", *_env_args(project)) == exit_codes.SUCCESS
    assert private.provisioned == 1
    public = FakeWorkspace(isolation="Disabled")
    assert _run(public, "--provision-network") == exit_codes.SUCCESS
    assert public.provisioned == 0


def test_endpoints_are_created_then_left_alone_when_unchanged(project: Path) -> None:
    workspace = FakeWorkspace()
    argv = ["--online-endpoint", str(project / "aml/online/endpoint.yml"),
            "--batch-endpoint", str(project / "aml/batch/endpoint.yml")]  # fmt: skip
    assert _run(workspace, *argv) == exit_codes.SUCCESS
    assert workspace.online["churn-ep"]["auth_mode"] == "aml_token"
    assert workspace.writes == ["online churn-ep", "batch churn-ep-batch"]
    assert _run(workspace, *argv) == exit_codes.SUCCESS
    assert workspace.writes == ["online churn-ep", "batch churn-ep-batch"], "a rerun must change nothing"


def test_an_update_keeps_the_live_traffic_and_the_batch_default(project: Path) -> None:
    """A managed online endpoint's update carries its traffic split: an update built from the YAML alone would
    send nothing to the live colour.
    https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-online-endpoints
    """
    workspace = FakeWorkspace()
    workspace.deployments["churn-ep"] = {"blue", "green"}
    workspace.online["churn-ep"] = {"description": "Old.", "auth_mode": "aml_token",
                                    "public_network_access": "disabled", "tags": {},
                                    "traffic": {"blue": 90, "green": 10}}  # fmt: skip
    workspace.batch["churn-ep-batch"] = {"description": "Old.", "tags": {}, "default_deployment": "mlflow"}
    argv = ["--online-endpoint", str(project / "aml/online/endpoint.yml"),
            "--batch-endpoint", str(project / "aml/batch/endpoint.yml")]  # fmt: skip
    assert _run(workspace, *argv) == exit_codes.SUCCESS
    assert workspace.online["churn-ep"]["description"] == "Churn."
    assert workspace.online["churn-ep"]["traffic"] == {"blue": 90, "green": 10}
    assert workspace.batch["churn-ep-batch"]["default_deployment"] == "mlflow"


@pytest.mark.parametrize("flag", ["--environment", "--online-endpoint", "--batch-endpoint", "--requirements"])
def test_a_missing_file_fails_before_azure_is_touched(
    project: Path, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = FakeWorkspace()
    with pytest.raises(SystemExit) as exit_info:
        aml_assets.main(
            [*WORKSPACE_ARGS, "--provision-network", flag, str(project / "aml/nope.yml")], api=workspace
        )
    assert exit_info.value.code == exit_codes.USAGE
    assert flag in capsys.readouterr().err
    assert workspace.writes == [] and workspace.provisioned == 0


def test_requirements_without_an_environment_are_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = FakeWorkspace()
    assert (
        _run(workspace, "--provision-network", "--requirements", str(project / "requirements.txt"))
        == exit_codes.USAGE
    )
    assert "--requirements" in capsys.readouterr().out
    assert workspace.provisioned == 0


def test_an_environment_without_image_and_conda_file_is_refused(project: Path) -> None:
    (project / "aml/environment.yml").write_text("name: churn-env\nbuild:\n  path: docker\n")
    with pytest.raises(InvalidArgumentError, match=r"\['image', 'conda_file'\] missing"):
        aml_assets.environment_build(project / "aml/environment.yml", None)
