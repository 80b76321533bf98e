"""The template's databricks_job=yes answer: a bundle and entry points that the platform's job can run.

The generated databricks/ must render without leftover Jinja, agree with the platform's Databricks job
(infra/components/databricks_job.py: where the files land, the pinned azureml-mlflow), take the MLflow
tracking URI and the AML registry from bundle variables, and reuse the package's code: the entry point
imports the project's pipeline, and a run on local Spark (several worker threads) of exactly what the
platform's job runs (its entry point, its command line) reads a table, scores the search's candidates in
Spark tasks, and trains, gates and registers the best one.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow.artifacts
import pytest
import yaml
from mlflow import MlflowClient

from infra.components.databricks_job import (
    AZUREML_MLFLOW,
    ENTRY_POINT,
    REQUIREMENTS,
    WORKSPACE_ROOT,
    task_parameters,
)
from tests.templates.generation import VENV_BIN, generate, leftover_jinja, run_tool, template_answers

FILES = {"databricks.yml", "project_path.py", "train_job.py", "promote_job.py", "requirements.txt"}


def _inherited_environment() -> dict[str, str]:
    """This process's environment without MLflow's settings: mlflow.set_experiment exports MLFLOW_EXPERIMENT_ID,
    so an earlier in-process test on the same worker would point a subprocess at an experiment its store lacks."""
    return {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}


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
    # The bundle's job runs the entry point with the platform job's command line.
    assert task["spark_python_task"]["parameters"] == task_parameters("${var.training_table}")


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
    # Not installed on the cluster: the dev extra, and torch (only the PyTorch variant needs it, and that variant
    # has no Databricks job: the hooks refuse it).
    not_on_cluster = ("pytest", "hypothesis", "ruff", "pre-commit", "cruft", "torch")
    expected = {k: v for k, v in template_answers()["_pins"].items() if k not in not_on_cluster}
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


_LOCAL_SPARK = """
import json
import sys
from pyspark.sql import SparkSession

spark = (
    SparkSession.builder.master("local[2]")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "2")
    .getOrCreate()
)
"""
_RUN_ON_LOCAL_SPARK = (
    _LOCAL_SPARK
    + """
from diabetes_progression.data import load_sample

spark.sql("CREATE DATABASE IF NOT EXISTS ml")
spark.createDataFrame(load_sample()).write.saveAsTable("ml.training")
import train_job

code = train_job.main(json.loads(sys.argv[1]), spark=spark)
tracker = spark.sparkContext.statusTracker()
stages = [tracker.getStageInfo(s) for j in tracker.getJobIdsForGroup() for s in tracker.getJobInfo(j).stageIds]
print("TASKS", sorted({stage.numTasks for stage in stages if stage}))
spark.stop()
sys.exit(code)
"""
)


@pytest.mark.slow
def test_the_platforms_job_reads_the_table_searches_on_spark_and_registers_the_best(
    project: Path, tmp_path: Path
) -> None:
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    environment = {
        **_inherited_environment(),
        "MLFLOW_TRACKING_URI": tracking,
        "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project / "databricks")]),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    arguments = json.dumps(task_parameters("ml.training"))  # exactly what the platform's job passes
    result = subprocess.run(
        [sys.executable, "-c", _RUN_ON_LOCAL_SPARK, arguments],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "artifacts").exists(), "hand-off files stay in the driver's temporary folder"
    # The search is one Spark stage with a task per candidate (2 x 2 x 2), run by the local workers.
    (tasks,) = [line for line in result.stdout.splitlines() if line.startswith("TASKS ")]
    assert 8 in json.loads(tasks.removeprefix("TASKS ")), result.stdout[-2000:]
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    champion = client.get_model_version_by_alias("diabetes-progression", "champion")
    trained = client.get_run(champion.run_id)
    pipeline_run = client.get_run(trained.data.tags["mlflow.parentRunId"])
    search_run = client.get_run(pipeline_run.data.tags["mlflow.parentRunId"])
    assert search_run.data.params["table"] == "ml.training"
    assert search_run.data.params["candidates"] == "8"
    scores = json.loads(
        Path(
            mlflow.artifacts.download_artifacts(
                run_id=search_run.info.run_id,
                artifact_path="search/cv_scores.json",
                dst_path=str(tmp_path / "scores"),
                tracking_uri=tracking,
            )
        ).read_text()
    )
    columns = scores["columns"]
    best = dict(zip(columns, scores["data"][0], strict=True))
    assert [row[columns.index("cv_score")] for row in scores["data"]] == sorted(
        (row[columns.index("cv_score")] for row in scores["data"]), reverse=True
    )
    for key in ("n_estimators", "max_depth", "learning_rate"):
        assert float(trained.data.params[key]) == float(best[key]), key
    assert "test_rmse" in trained.data.metrics


def test_a_bad_search_space_names_the_option_and_the_rule(project: Path) -> None:
    environment = {
        **_inherited_environment(),
        "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project / "databricks")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            str(project / "databricks" / "train_job.py"),
            "--table",
            "t.t",
            "--search",
            '{"depth": [2]}',
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "--search" in result.stderr and "must be a JSON object mapping hyperparameters" in result.stderr


_SPARK_PREP_ON_LOCAL_SPARK = (
    _LOCAL_SPARK
    + """
from pathlib import Path

import pandas as pd
from diabetes_progression import spark_prep
from diabetes_progression.data import SCHEMA, load_sample
from diabetes_progression.errors import SchemaError

out = Path(sys.argv[1])
sample = load_sample()
frame = spark.createDataFrame(sample)
results = {}
tests = {}
for partitions in (1, 4):
    _, test = spark_prep.split(spark_prep.validate(frame.repartition(partitions)))
    tests[partitions] = sorted(map(tuple, test.toPandas().itertuples(index=False)))
results["same_split"] = tests[1] == tests[4]
prepared = spark_prep.prepare(frame.repartition(3), out / "prepared")
train, test = pd.read_parquet(prepared.train), pd.read_parquet(prepared.test)
results["rows"] = [len(train), len(test), prepared.rows, len(sample)]
results["columns"] = [list(train.columns), SCHEMA.names]
bad = sample.assign(bmi=sample["bmi"].where(sample.index != 400, -5.0))
try:
    spark_prep.prepare(spark.createDataFrame(bad).repartition(3), out / "bad")
except SchemaError as err:
    results["bad"] = err.violations
try:
    SCHEMA.validate(bad)
except SchemaError as err:
    results["pandas_bad"] = err.violations
results["bad_wrote_nothing"] = not (out / "bad").exists()
try:
    spark_prep.validate(frame.drop("bmi"))
except SchemaError as err:
    results["missing"] = err.violations
try:
    spark_prep.validate(frame.limit(0))
except SchemaError as err:
    results["empty"] = err.violations
spark.stop()
print("RESULTS " + json.dumps(results))
"""
)


@pytest.mark.slow
def test_spark_prep_validates_on_the_executors_and_splits_the_same_for_any_partitioning(
    project: Path, tmp_path: Path
) -> None:
    """Prep for tables bigger than one machine, on local PySpark as on the job cluster: the schema's own validator
    runs per partition and names the column and rule as prep.py does; a broken table writes nothing; the split is
    a function of the rows, not of how Spark partitions them; training reads the result like prep.py's."""
    # The executors' Python is this one (with the project's dependencies), as on the job cluster.
    environment = {
        **_inherited_environment(),
        "PYTHONPATH": str(project / "src"),
        "PYSPARK_PYTHON": sys.executable,
    }
    result = subprocess.run(
        [sys.executable, "-c", _SPARK_PREP_ON_LOCAL_SPARK, str(tmp_path)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULTS ")]
    results = json.loads(line.removeprefix("RESULTS "))
    assert results["same_split"] is True
    train_rows, test_rows, rows, sample_rows = results["rows"]
    assert train_rows + test_rows == rows == sample_rows
    assert 0.1 < test_rows / sample_rows < 0.3, "about TEST_FRACTION of the rows are test rows"
    assert results["columns"][0] == results["columns"][1]
    (spark_problem,) = results["bad"]
    (pandas_problem,) = results["pandas_bad"]
    # The same words as prep.py's validation; only the row's position is counted within its partition.
    assert spark_problem.startswith("partition ")
    assert (
        spark_problem.split(": ", 1)[1].split(", first at row")[0]
        == pandas_problem.split(", first at row")[0]
    )
    assert "column 'bmi'" in spark_problem
    assert results["bad_wrote_nothing"] is True
    assert results["missing"] == ["column 'bmi': required but missing"]
    assert results["empty"] == ["dataset: has no rows"]
