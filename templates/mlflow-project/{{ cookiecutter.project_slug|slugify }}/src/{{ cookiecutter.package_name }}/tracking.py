"""MLflow plumbing shared by the steps: choosing the experiment, step runs and logging the model."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from sklearn.base import BaseEstimator

from {{ cookiecutter.package_name }}.settings import EXPERIMENT_NAME, MODEL_ARTIFACT
from {{ cookiecutter.package_name }}.validated_model import ESTIMATOR_ARTIFACT, ValidatedModel

PACKAGE_DIR = Path(__file__).parent

# MLflow 3 saves scikit-learn models with skops, which refuses to load types it does not trust.
# Gradient-boosting ensembles hold their trees in this one type; trusting it is safe because only
# this project's own training code writes these models.
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]

# Declared instead of inferred: inference re-imports the model in a subprocess (seconds per run),
# and a served model should get exactly the versions it was trained with.
# pandera, pydantic and PyYAML: the model validates its input with the packaged data contract (validated_model).
_MODEL_REQUIREMENTS = (
    "mlflow", "scikit-learn", "pandas", "numpy", "scipy", "skops", "pyarrow", "pandera", "pydantic", "pyyaml",
)  # fmt: skip


def model_requirements(*extra: str) -> list[str]:
    return [f"{package}=={version(package)}" for package in (*_MODEL_REQUIREMENTS, *extra)]


def use_default_experiment() -> None:
    """Log to EXPERIMENT_NAME unless `mlflow run`, Azure ML or the caller already chose an experiment."""
    chosen = {"MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"} & os.environ.keys()
    if not chosen and mlflow.active_run() is None:
        mlflow.set_experiment(EXPERIMENT_NAME)


@contextmanager
def step_run(name: str) -> Iterator[mlflow.ActiveRun]:
    """A run for one step: nested under the active run (the pipeline's), or its own run otherwise.

    Under `mlflow run` and Azure ML jobs MLFLOW_RUN_ID is set, so an outermost step resumes that run.
    """
    use_default_experiment()
    nested = mlflow.active_run() is not None
    # Resuming the run that `mlflow run` or Azure ML created keeps that run's own name.
    resuming = not nested and "MLFLOW_RUN_ID" in os.environ
    with mlflow.start_run(run_name=None if resuming else name, nested=nested) as run:
        yield run


def log_validated_model(
    model: BaseEstimator, example: pd.DataFrame, *, as_run_artifacts: bool | None = None
) -> str:
    """Log `model` wrapped in ValidatedModel (schema checks before predicting) into the active run; return its URI.

    The signature declares only the output: an input signature would make MLflow drop unknown columns
    before the schema sees them (see validated_model). `as_run_artifacts` (default: only when tracking to
    Azure ML) logs through plain run artifacts.
    """
    with tempfile.TemporaryDirectory() as tmp:
        estimator = Path(tmp, ESTIMATOR_ARTIFACT)
        # The inner model's requirements are declared too: inferring them costs a subprocess (see above).
        mlflow.sklearn.save_model(
            model, estimator, skops_trusted_types=SKOPS_TRUSTED_TYPES, pip_requirements=model_requirements()
        )
        return log_python_model(
            ValidatedModel(),
            {ESTIMATOR_ARTIFACT: str(estimator)},
            example,
            model.predict(example),
            as_run_artifacts=as_run_artifacts,
        )


def log_python_model(
    python_model: mlflow.pyfunc.PythonModel,
    artifacts: dict[str, str],
    example: pd.DataFrame,
    predictions: Any,
    *,
    extra_requirements: tuple[str, ...] = (),
    as_run_artifacts: bool | None = None,
) -> str:
    """Log a pyfunc wrapper (a schema check before predicting) with its artifacts; return the model URI.

    The signature declares only the output, inferred from `predictions` of `example`, which is also the
    logged input example. Shared by every framework the template trains with.
    """
    signature = ModelSignature(outputs=infer_signature(example, predictions).outputs)
    if as_run_artifacts is None:
        as_run_artifacts = mlflow.get_tracking_uri().startswith("azureml")
    options = {
        "python_model": python_model,
        "artifacts": artifacts,
        # The package travels with the model: Azure ML's no-code deployments do not install it.
        "code_paths": [str(PACKAGE_DIR)],
        "signature": signature,
        "input_example": example,
        "pip_requirements": model_requirements(*extra_requirements),
    }
    if as_run_artifacts:
        with tempfile.TemporaryDirectory() as tmp:
            return _log_as_run_artifacts(options, Path(tmp))
    return mlflow.pyfunc.log_model(name=MODEL_ARTIFACT, **options).model_uri


def _log_as_run_artifacts(options: dict[str, Any], tmp: Path) -> str:
    """Azure ML's MLflow endpoint has answered MLflow 3's logged-model API with 404
    (Azure/azure-sdk-for-python#44896): save the model locally and upload it as run artifacts,
    which registers the same way through `runs:/<run_id>/model`."""
    path = tmp / MODEL_ARTIFACT
    mlflow.pyfunc.save_model(path, **options)
    mlflow.log_artifacts(str(path), artifact_path=MODEL_ARTIFACT)
    return f"runs:/{mlflow.active_run().info.run_id}/{MODEL_ARTIFACT}"
