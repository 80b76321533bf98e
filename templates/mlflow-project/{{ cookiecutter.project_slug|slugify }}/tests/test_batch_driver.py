"""The batch deployment's scoring script, run as Azure ML runs it: `init()` once, then `run()` per mini-batch of
files, over a model folder under AZUREML_MODEL_DIR. Azure ML requires both functions of a custom scoring script
and hands `run` a list of file paths (https://learn.microsoft.com/en-us/azure/machine-learning/batch-inference/how-to-batch-scoring-script)."""

from __future__ import annotations

from pathlib import Path

import mlflow.artifacts
import mlflow.pyfunc
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import batch_driver
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, TARGET
from {{ cookiecutter.package_name }}.errors import InputRefusedError
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.prep import PreparedData

PROJECT = Path(__file__).resolve().parents[1]
FILES = 5
MINI_BATCH = 2


@pytest.fixture
def deployed(good_candidate: Candidate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The candidate's model where Azure ML mounts a deployment's model: a folder below AZUREML_MODEL_DIR."""
    root = tmp_path / "model-dir"
    mlflow.artifacts.download_artifacts(good_candidate.model_uri, dst_path=str(root / "model"))
    monkeypatch.setenv(batch_driver.MODEL_DIR_VARIABLE, str(root))
    monkeypatch.setattr(batch_driver, "_model", None)
    batch_driver.init()
    return root


def _files(folder: Path, frame: pd.DataFrame) -> list[str]:
    folder.mkdir()
    paths = []
    for number, rows in enumerate(frame.groupby(frame.index % FILES)):
        path = folder / f"part-{number}.{'csv' if number % 2 else 'parquet'}"
        features = rows[1][FEATURE_NAMES]
        if path.suffix == ".csv":
            features.to_csv(path, index=False)
        else:
            features.to_parquet(path, index=False)
        paths.append(str(path))
    return paths


def test_every_mini_batch_is_scored_with_the_models_predictions(
    deployed: Path, prepared: PreparedData, good_candidate: Candidate, tmp_path: Path
) -> None:
    test = pd.read_parquet(prepared.test)
    paths = _files(tmp_path / "input", test)
    batches = [paths[i : i + MINI_BATCH] for i in range(0, len(paths), MINI_BATCH)]
    assert len(batches) == 3, "several mini-batches, the last one short"
    scored = pd.concat([batch_driver.run(batch) for batch in batches], ignore_index=True)
    assert len(scored) == len(test)
    assert sorted(scored[batch_driver.SOURCE_COLUMN].unique()) == sorted(Path(p).name for p in paths)
    model = mlflow.pyfunc.load_model(good_candidate.model_uri)
    for _, rows in scored.groupby(batch_driver.SOURCE_COLUMN):
        assert list(rows["prediction"]) == pytest.approx(list(model.predict(rows[FEATURE_NAMES])))
    assert set(scored["model_uri"]) == {f"runs:/{good_candidate.run_id}/model"}
    assert TARGET not in scored.columns


def test_a_bad_row_fails_its_mini_batch_naming_the_file_and_the_column(
    deployed: Path, prepared: PreparedData, tmp_path: Path
) -> None:
    rows = pd.read_parquet(prepared.test)[FEATURE_NAMES].head(3)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    rows.to_csv(good, index=False)
    rows.assign(**{FEATURE_NAMES[0]: -1.0}).to_csv(bad, index=False)
    with pytest.raises(InputRefusedError, match=rf"(?s)file 'bad.csv': .*column '{FEATURE_NAMES[0]}'"):
        batch_driver.run([str(good), str(bad)])

{%- if cookiecutter.deployment in ("batch", "both") %}


def test_the_deployment_runs_this_script_from_the_package() -> None:
    import yaml

    spec = yaml.safe_load((PROJECT / "aml" / "batch" / "deployment.yml").read_text(encoding="utf-8"))
    configuration = spec["code_configuration"]
    script = (PROJECT / "aml" / "batch" / configuration["code"] / configuration["scoring_script"]).resolve()
    assert script == Path(batch_driver.__file__).resolve()
{%- endif %}
