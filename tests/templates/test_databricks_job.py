"""The template's databricks_job=yes answer: a bundle and entry points that the platform's job can run.

The generated databricks/ must render without leftover Jinja, agree with the platform's Databricks job
(infra/components/databricks_job.py: where the files land, the pinned azureml-mlflow), take the MLflow
tracking URI and the AML registry from bundle variables, and reuse the package's code: the entry point
imports the project's pipeline, and a run on local Spark trains, gates and registers a champion.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from infra.components.databricks_job import AZUREML_MLFLOW, ENTRY_POINT, REQUIREMENTS, WORKSPACE_ROOT
from tests.templates.generation import VENV_BIN, generate, leftover_jinja, run_tool, template_answers

FILES = {"databricks.yml", "project_path.py", "train_job.py", "promote_job.py", "requirements.txt"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("databricks"), databricks_job="yes")


@pytest.fixture(scope="module")
def bundle(project: Path) -> dict:
    return yaml.safe_load((project / "databricks" / "databricks.yml").read_text())


def test_yes_generates_the_bundle_and_entry_points_without_leftover_jinja(project: Path) -> None:
    assert {p.name for p in (project / "databricks").iterdir()} == FILES
    assert leftover_jinja(project) == []


def test_no_generates_no_databricks_folder(tmp_path: Path) -> None:
    assert not (generate(tmp_path, databricks_job="no") / "databricks").exists()


def test_the_bundle_deploys_where_the_platforms_job_looks(project: Path, bundle: dict) -> None:
    root = bundle["workspace"]["root_path"]
    assert root == f"{WORKSPACE_ROOT}/diabetes_progression"
    # The bundle syncs databricks/ and ../src from databricks/: their common parent is the project, so
    # files/<path> on Databricks is <project>/<path> here.
    assert bundle["sync"]["paths"] == [".", "../src"]
    for relative in (ENTRY_POINT, REQUIREMENTS):
        assert (project / relative.removeprefix("files/")).is_file(), relative
    (task,) = bundle["resources"]["jobs"]["train"]["tasks"]
    assert task["spark_python_task"]["python_file"] == "${workspace.file_path}/databricks/train_job.py"


def test_tracking_uri_and_registry_come_from_variables(bundle: dict) -> None:
    variables = bundle["variables"]
    assert "default" not in variables["mlflow_tracking_uri"], "each stack has its own workspace"
    # Only the stack knows its registry (output amlRegistryName): the bundle takes it at deploy time.
    assert "default" not in variables["aml_registry"]
    for job in bundle["resources"]["jobs"].values():
        (cluster,) = job["job_clusters"]
        environment = cluster["new_cluster"]["spark_env_vars"]
        assert environment["MLFLOW_TRACKING_URI"] == "${var.mlflow_tracking_uri}"
        assert cluster["new_cluster"]["policy_id"] == "${var.cluster_policy_id}"
        assert "AZURE_CLIENT_SECRET" not in environment, "the secret is read from the scope at run time"
    (promote,) = bundle["resources"]["jobs"]["promote"]["tasks"]
    assert promote["spark_python_task"]["parameters"] == ["--registry", "${var.aml_registry}"]
    assert bundle["run_as"] == {"service_principal_name": "${var.run_as_client_id}"}


def test_the_cluster_installs_the_projects_pins_and_the_platforms_azureml_mlflow(project: Path) -> None:
    lines = (project / "databricks" / "requirements.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    expected = {
        k: v for k, v in template_answers()["_pins"].items() if k not in ("pytest", "ruff", "pre-commit")
    }
    assert pins == expected
    assert f"azureml-mlflow=={pins['azureml-mlflow']}" == AZUREML_MLFLOW


def test_the_entry_points_import_the_package_instead_of_copying_it(project: Path) -> None:
    for entry, module in (("train_job.py", "pipeline"), ("promote_job.py", "promote")):
        tree = ast.parse((project / "databricks" / entry).read_text())
        imported = {
            (node.module, alias.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert ("diabetes_progression", module) in imported, entry
        assert not any(name and name.startswith("sklearn") for name, _ in imported), entry


def test_the_generated_databricks_code_passes_the_projects_lint(project: Path) -> None:
    for command in (("check",), ("format", "--check")):
        result = run_tool(VENV_BIN / "ruff", *command, "--no-cache", "databricks", cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr


_RUN_ON_LOCAL_SPARK = """
import sys
from pyspark.sql import SparkSession

spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "1")
    .getOrCreate()
)
from diabetes_progression.data import load_sample

spark.createDataFrame(load_sample()).createOrReplaceTempView("diabetes")
import train_job

code = train_job.main(["--table", "diabetes", "--workdir", sys.argv[1], "--n-estimators", "50"], spark=spark)
spark.stop()
sys.exit(code)
"""


@pytest.mark.slow
def test_the_train_job_trains_gates_and_registers_from_a_spark_table(project: Path, tmp_path: Path) -> None:
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    environment = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking,
        "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project / "databricks")]),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [sys.executable, "-c", _RUN_ON_LOCAL_SPARK, str(tmp_path / "work")],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    champion = client.get_model_version_by_alias("diabetes-progression", "champion")
    run = client.get_run(champion.run_id)
    assert run.data.params["n_estimators"] == "50"
    assert "test_rmse" in run.data.metrics
