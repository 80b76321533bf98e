"""The default project works the minute it exists: its tests pass, `mlflow run` registers a champion; the
classification sample's project passes its own tests too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.templates.generation import VENV_BIN, generate, run_tool

# SQLAlchemy deprecation warnings come from MLflow's own store code, not from the project.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MODEL_NAME = "diabetes-progression"  # the default slug


def _clean_environment(**extra: str) -> dict[str, str]:
    """This interpreter's bin folder first on PATH, and no MLflow settings leaking in from outside."""
    kept = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    return {**kept, "PATH": os.pathsep.join([str(VENV_BIN), kept.get("PATH", "")]), **extra}


def _assert_suite_passes(project: Path) -> None:
    result = run_tool(
        VENV_BIN / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", project / "tests",
        cwd=project,
        env=_clean_environment(PYTHONPATH=str(project / "src")),
        timeout=900,  # ~3 minutes alone; it starts a real scoring server, and CI machines are shared
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_the_generated_test_suite_passes(default_project: Path) -> None:
    _assert_suite_passes(default_project)


def test_the_binary_classification_samples_suite_passes(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The breast-cancer sample is the only binary contract: its gate, metrics and payloads differ from the
    regression default's and from the multiclass own-data projects' (test_template_own_data.py)."""
    _assert_suite_passes(generate(tmp_path_factory.mktemp("binary"), task="classification"))


def test_mlflow_run_trains_and_registers_a_champion(default_project: Path, tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # cwd=tmp_path: the experiment's default artifact root (./mlruns) must land in the temporary folder.
    result = run_tool(
        VENV_BIN / "mlflow", "run", default_project,
        "--env-manager", "local", "--experiment-name", "template-test",
        cwd=tmp_path,
        env=_clean_environment(MLFLOW_TRACKING_URI=tracking_uri),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    assert [str(version.version) for version in versions] == ["1"]
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == "1"
    run = client.get_run(champion.run_id)
    assert "plots/feature_importance.png" in [
        item.path for item in client.list_artifacts(run.info.run_id, "plots")
    ]
    assert "gate PASSED" in result.stdout
