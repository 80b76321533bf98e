"""Bring your own data with text columns: a project generated for a file with string categories runs the whole loop.

The data is the Palmer penguins table (344 penguins: species, island and sex as text, four measurements and
the study year), as the `palmerpenguins` package ships it (a dev dependency), written as the user's CSV; the
task is regression of body mass, which neither sample is. `contract infer` drafts `category` features from
the text columns (sex has empty cells: nullable), and the project's own entry points run as a user runs them:
prep, train (one-hot encoding the categories), the gate, register, batch scoring, the drift report of
examples/local-e2e, Spark prep on local PySpark, the monitor spec, and serving over HTTP. A value the
contract does not list is refused online (400) and in batch, naming the column and the values it allows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from palmerpenguins import load_penguins

from tests.templates.generation import VENV_BIN, generate
from tests.templates.own_data import IN_PROJECT, Loop, ok, post_json

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

PACKAGE, MODEL_NAME, TARGET = "penguin_mass", "penguin-mass", "body_mass_g"
ANSWERS = {"project_name": "Penguin Mass", "task": "regression", "data_source": "data/penguins.csv"}
CATEGORIES = {
    "species": ["Adelie", "Chinstrap", "Gentoo"],
    "island": ["Biscoe", "Dream", "Torgersen"],
    "sex": ["female", "male"],
}
ISLAND_RULE = "not one of ['Biscoe', 'Dream', 'Torgersen']"
MEASUREMENTS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", TARGET]


def _penguins() -> pd.DataFrame:
    """The shipped table without its two unmeasured birds (the baseline takes no missing numbers); the
    eleven birds of unknown sex stay: a nullable category."""
    return load_penguins().dropna(subset=MEASUREMENTS).reset_index(drop=True)


def _split_body(frame: pd.DataFrame) -> bytes:
    """A scoring-server body (`dataframe_split`), missing values as JSON null."""
    split = frame.astype(object).where(frame.notna(), None).to_dict(orient="split")
    return json.dumps({"dataframe_split": split}).encode()


_SPARK_PREP = """
import json, sys
from pathlib import Path
from pyspark.sql import SparkSession
from penguin_mass import spark_prep
from penguin_mass.data import load_sample
from penguin_mass.errors import SchemaError

spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2").getOrCreate())
# Missing sexes as None: from a float NaN in a text column Spark would make the string "NaN", not a null.
sample = load_sample()
sample = sample.astype(object).where(sample.notna(), None)
results = {}
prepared = spark_prep.prepare(spark.createDataFrame(sample).repartition(3), Path(sys.argv[1]))
results["rows"] = [prepared.rows, len(sample)]
import pandas as pd
train = pd.read_parquet(prepared.train)
results["islands"] = sorted(train["island"].unique().tolist())
results["missing_sex"] = int(train["sex"].isna().sum()) + int(pd.read_parquet(prepared.test)["sex"].isna().sum())
bad = sample.assign(island=sample["island"].where(sample.index != 100, "Atlantis"))
try:
    spark_prep.validate(spark.createDataFrame(bad).repartition(3))
except SchemaError as err:
    results["bad"] = err.violations
spark.stop()
print("RESULTS " + json.dumps(results))
"""

_MONITOR = """
import json, pathlib
from penguin_mass.monitoring import load_monitor
monitor = load_monitor(pathlib.Path("aml/monitoring.yml"), "ep", "blue")
signals = monitor.create_monitor.monitoring_signals
rest = monitor._to_rest_object().properties.action.monitor_definition.signals
print(json.dumps({
    "types": {name: signals[name].feature_type_override for name in ("feature_drift", "input_quality")},
    "rest": {name: rest[name].feature_data_type_override for name in ("feature_drift", "input_quality")},
    "categorical_drift": signals["feature_drift"].metric_thresholds.categorical.jensen_shannon_distance,
}))
"""


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = generate(tmp_path_factory.mktemp("own-data-categorical"), **ANSWERS)
    (project / "data").mkdir()
    _penguins().to_csv(project / "data" / "penguins.csv", index=False)
    steps = Loop(project, tmp_path_factory.mktemp("store"), PACKAGE)
    results: dict[str, Any] = {"project": project, "tracking_uri": steps.tracking_uri}
    results["infer"] = ok(steps.module("contract", "infer", "data/penguins.csv", "--target", TARGET))
    results["pipeline"] = ok(steps.module("pipeline"))
    batches = project / "batches"
    ok(steps.run(IN_PROJECT / "batches.py", "--package", PACKAGE, "--test", "artifacts/prepared/test.parquet",
                 "--output", batches, "--shift", "0.5"))  # fmt: skip
    rows = pd.read_parquet(batches / "batch.parquet")
    # Every bird from one island, read back as pandas' category and string dtypes: valid, but drifted.
    rows.assign(island="Torgersen").astype({"island": "category", "species": "string"}).to_parquet(
        batches / "batch_one_island.parquet", index=False
    )
    rows.assign(island=rows["island"].where(rows.index != 2, "Atlantis")).to_parquet(
        batches / "batch_unknown.parquet", index=False
    )
    for name in ("batch", "batch_shifted", "batch_one_island"):
        ok(steps.module("score_batch", "--input", batches / f"{name}.parquet",
                        "--output", batches / f"scored_{name}.parquet"))  # fmt: skip
    results["batch_unknown"] = steps.module(
        "score_batch",
        "--input",
        batches / "batch_unknown.parquet",
        "--output",
        batches / "scored_unknown.parquet",
    )
    currents = [
        f"{name}={batches / f'scored_{name}.parquet'}"
        for name in ("batch", "batch_shifted", "batch_one_island")
    ]
    drift = ok(steps.run(IN_PROJECT / "drift_report.py", "--package", PACKAGE, "--reference",
                         "artifacts/prepared/train.parquet", *[arg for c in currents for arg in ("--current", c)],
                         "--output", project / "drift"))  # fmt: skip
    results["drift"] = {item["batch"]: item for item in map(json.loads, drift.strip().splitlines())}
    results["monitor"] = json.loads(ok(steps.run("-c", _MONITOR)))
    with steps.served() as url:
        results["served"] = post_json(url, (batches / "request.json").read_bytes())
        results["missing_sex"] = post_json(url, _split_body(rows.head(3).assign(sex=None)))
        results["unknown_island"] = post_json(url, _split_body(rows.head(3).assign(island="Atlantis")))
    results["scored"] = pd.read_parquet(batches / "scored_batch.parquet")
    return results


def test_infer_drafts_category_features_with_the_observed_values(loop: dict[str, Any]) -> None:
    project = loop["project"]
    drafted = yaml.safe_load((project / "src" / PACKAGE / "contract.yml").read_text(encoding="utf-8"))
    features = {feature["name"]: feature for feature in drafted["features"]}
    assert drafted["task"] == "regression" and drafted["target"]["name"] == TARGET
    assert list(features) == [name for name in _penguins().columns if name != TARGET]
    for name, categories in CATEGORIES.items():
        assert features[name]["type"] == "category" and features[name]["categories"] == categories, name
        assert "minimum" not in features[name] and "allowed" not in features[name]
    assert features["sex"]["nullable"] is True and features["island"]["nullable"] is False
    assert features["bill_length_mm"]["type"] == "float"
    assert features["year"] == {**features["year"], "type": "integer", "allowed": [2007.0, 2008.0, 2009.0]}
    request = json.loads((project / "aml" / "online" / "sample-request.json").read_text(encoding="utf-8"))
    island = request["input_data"]["columns"].index("island")
    assert {row[island] for row in request["input_data"]["data"]} <= set(CATEGORIES["island"])


def test_the_gate_judges_the_encoded_model_and_registers_the_champion(loop: dict[str, Any]) -> None:
    assert "gate PASSED" in loop["pipeline"] and "r2_score: " in loop["pipeline"]
    client = MlflowClient(tracking_uri=loop["tracking_uri"], registry_uri=loop["tracking_uri"])
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == "1"
    # The logged input example a reviewer and a deployment see keeps the categories as text.
    (example_file,) = loop["project"].rglob("serving_input_example.json")
    example = json.loads(example_file.read_text(encoding="utf-8"))["dataframe_split"]
    island = example["columns"].index("island")
    assert {row[island] for row in example["data"]} <= set(CATEGORIES["island"])


def test_the_served_champion_predicts_and_refuses_an_unknown_category(loop: dict[str, Any]) -> None:
    status, answer = loop["served"]
    assert status == 200 and len(answer["predictions"]) == 3
    assert answer["predictions"] == pytest.approx(loop["scored"]["prediction"].head(3).tolist())
    status, answer = loop["missing_sex"]
    assert status == 200, answer  # sex is nullable: a missing value encodes as no category
    status, refused = loop["unknown_island"]
    assert status == 400 and refused["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "column 'island'" in refused["message"] and f"3 value(s) {ISLAND_RULE}" in refused["message"]


def test_batch_scoring_refuses_an_unknown_category_naming_column_and_values(loop: dict[str, Any]) -> None:
    refused = loop["batch_unknown"]
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert (
        "column 'island'" in refused.stderr
        and f"1 value(s) {ISLAND_RULE}, first at row 2 = Atlantis" in refused.stderr
    )
    assert not (loop["project"] / "batches" / "scored_unknown.parquet").exists()


def test_the_drift_report_measures_categories_by_their_values(loop: dict[str, Any]) -> None:
    drift = loop["drift"]
    assert drift["batch"]["drift"] is False
    assert drift["batch_shifted"]["drift"] is True
    assert "island" not in drift["batch_shifted"]["drifted_features"]  # the shift scales numbers only
    assert drift["batch_one_island"]["drifted_features"] == ["island"]
    stats = pd.read_csv(Path(drift["batch_one_island"]["folder"]) / "stats.csv", index_col="feature")
    assert stats.loc["island", "test"] == "chi2" and stats.loc["bill_length_mm", "test"] == "ks"


def test_the_monitor_declares_the_category_features_categorical(loop: dict[str, Any]) -> None:
    """Azure ML model monitoring computes drift and quality per feature type, categorical features with their
    own metrics (Jensen-Shannon distance, PSI, Pearson's chi-squared test); the spec names each feature's type
    instead of leaving Azure ML to guess it from the data (`feature_type_override`).
    https://learn.microsoft.com/azure/machine-learning/concept-model-monitoring
    https://learn.microsoft.com/azure/machine-learning/how-to-monitor-model-performance
    """
    monitor = loop["monitor"]
    expected = {name: "categorical" for name in CATEGORIES} | {
        name: "numerical" for name in ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "year"]
    }
    assert monitor["types"] == {"feature_drift": expected, "input_quality": expected}
    # The request body azure-ai-ml sends carries the same overrides.
    assert monitor["rest"] == monitor["types"]
    assert monitor["categorical_drift"] == 0.1


def test_spark_prep_checks_category_columns_on_the_executors(loop: dict[str, Any], tmp_path: Path) -> None:
    """Databricks prep applies the same contract: a string column travels as Arrow strings to the executors'
    pandas batches, where the schema's own checks refuse a value the contract does not list."""
    steps = Loop(loop["project"], tmp_path, PACKAGE)
    steps.env["PYSPARK_PYTHON"] = str(VENV_BIN / "python")
    output = ok(steps.run("-c", _SPARK_PREP, tmp_path / "prepared"))
    (line,) = [line for line in output.splitlines() if line.startswith("RESULTS ")]
    results = json.loads(line.removeprefix("RESULTS "))
    assert results["rows"][0] == results["rows"][1] == len(_penguins())
    assert results["islands"] == CATEGORIES["island"]
    assert results["missing_sex"] == _penguins()["sex"].isna().sum()
    (problem,) = results["bad"]
    assert problem.startswith("partition ") and "column 'island'" in problem and ISLAND_RULE in problem
