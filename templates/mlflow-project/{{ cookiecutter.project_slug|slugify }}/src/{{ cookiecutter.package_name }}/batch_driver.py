"""The batch deployment's scoring script (aml/batch/deployment.yml): Azure ML calls `init()` once per worker
process, then `run(mini_batch)` with each mini-batch of input files, on every node of the deployment.

Each file is read like any data source (data.read_files: CSV or Parquet, a readable error otherwise) and scored
through the model's own validation (score_batch.score_with), so a bad row is refused exactly as the online
endpoint refuses it, naming the column; the refusal also names the file. Any failed mini-batch fails the job
(`error_threshold: 0`). The rows returned are appended to predictions.csv (`output_action: append_row`): the
features, the prediction, the model URI, the scoring time and the file each row came from.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Azure ML loads this file by path from the deployment's code folder (../src): make the package importable.
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mlflow.pyfunc
import pandas as pd

from {{ cookiecutter.package_name }}.data import read_files
from {{ cookiecutter.package_name }}.errors import InputRefusedError, ProjectError
from {{ cookiecutter.package_name }}.score_batch import score_with
from {{ cookiecutter.package_name }}.settings import MODEL_ARTIFACT

MODEL_DIR_VARIABLE = "AZUREML_MODEL_DIR"
"""Where Azure ML mounts the deployment's model; an MLflow model sits in a folder below it."""
SOURCE_COLUMN = "source_file"

_model: mlflow.pyfunc.PyFuncModel | None = None
_model_uri = ""


def model_folder(root: Path) -> Path:
    """The MLflow model under `root` (the folder holding its MLmodel file)."""
    found = sorted(root.rglob("MLmodel"))
    if not found:
        raise ProjectError(f"{MODEL_DIR_VARIABLE}={root}: no MLflow model (no MLmodel file) below it")
    return found[0].parent


def init() -> None:
    """Load the model once per worker process."""
    global _model, _model_uri
    folder = model_folder(Path(os.environ[MODEL_DIR_VARIABLE]))
    _model = mlflow.pyfunc.load_model(str(folder))
    # Provenance for drift monitoring: the training run when the model records it, else where it was loaded from.
    run_id = _model.metadata.run_id
    _model_uri = f"runs:/{run_id}/{MODEL_ARTIFACT}" if run_id else str(folder)


def run(mini_batch: list[str]) -> pd.DataFrame:
    """Score every file of `mini_batch` (paths); return all their rows with predictions, in file order."""
    if _model is None:
        msg = "run() before init(): Azure ML calls init() once per worker process first"
        raise ProjectError(msg)
    scored = []
    for path in mini_batch:
        try:
            rows = score_with(_model, _model_uri, read_files(Path(path)))
        except InputRefusedError as err:
            raise InputRefusedError(f"file {Path(path).name!r}: {err}") from err
        scored.append(rows.assign(**{SOURCE_COLUMN: Path(path).name}))
    return pd.concat(scored, ignore_index=True)
