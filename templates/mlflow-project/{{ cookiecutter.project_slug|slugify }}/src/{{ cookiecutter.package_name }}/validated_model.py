"""The model as every scorer loads it: a pyfunc that checks rows against the feature schema, then predicts.

MLflow's scoring server (local and CI), Azure ML's no-code online and batch deployments, batch scoring
and the gate all call this `predict`, so they refuse the same rows with the same words. A refusal is an
`MlflowException` with INVALID_PARAMETER_VALUE, which MLflow's scoring server answers with 400 and
the message (every broken rule, each naming its column).

The model carries no input signature on purpose: MLflow's signature enforcement runs before `predict`
and silently drops columns the signature does not name and casts what it can, so an extra or renamed
column would slip through. The schema here refuses both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from {{ cookiecutter.package_name }}.data import FEATURE_SCHEMA
from {{ cookiecutter.package_name }}.errors import SchemaError

ESTIMATOR_ARTIFACT = "estimator"
"""The artifact holding the fitted scikit-learn pipeline, saved by mlflow.sklearn (skops format)."""


def as_frame(model_input: object) -> pd.DataFrame:
    """The rows of whatever MLflow's parsers produced from a request: a DataFrame, a dict of columns
    (`inputs`/`instances` in columnar form) or a list of records. Anything without column names is refused."""
    if isinstance(model_input, pd.DataFrame):
        return model_input
    if isinstance(model_input, Mapping):
        try:
            return pd.DataFrame({name: np.atleast_1d(values) for name, values in model_input.items()})
        except ValueError as err:
            raise _refusal(f"input columns have different lengths: {err}") from err
    if isinstance(model_input, list) and model_input and all(isinstance(row, Mapping) for row in model_input):
        return pd.DataFrame.from_records(model_input)
    raise _refusal(
        f"input is a {type(model_input).__name__}: expected a table with named columns {FEATURE_SCHEMA.names}"
    )


def validated_features(model_input: object) -> pd.DataFrame:
    """The schema's feature columns of `model_input`, or an MlflowException listing every broken rule."""
    try:
        return FEATURE_SCHEMA.validate(as_frame(model_input))
    except SchemaError as err:
        raise _refusal(str(err)) from err


def _refusal(message: str) -> MlflowException:
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class ValidatedModel(mlflow.pyfunc.PythonModel):
    """Wraps the fitted pipeline: validate with FEATURE_SCHEMA, then predict."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        # mlflow.sklearn reads the skops trusted types it was saved with from the estimator's own MLmodel.
        self._estimator = mlflow.sklearn.load_model(context.artifacts[ESTIMATOR_ARTIFACT])

    # No type hints: MLflow would build an input signature from them (see the module docstring).
    def predict(self, context, model_input, params=None) -> Any:
        return self._estimator.predict(validated_features(model_input))
