"""Property-based: the logged model (what every scorer loads) refuses any out-of-rule input, naming the column,
and accepts any row inside the rules. test_scoring_boundary shows HTTP and batch scoring answer with its words."""

from __future__ import annotations

import math

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException

from {{ cookiecutter.package_name }}.contract import Feature
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, FEATURES
from {{ cookiecutter.package_name }}.handoff import Candidate

FLOAT32_MAX = float(np.finfo(np.float32).max)
BOUNDED = [c for c in FEATURES if c.allowed is None and (c.minimum is not None or c.maximum is not None)]
EXAMPLES = settings(max_examples=40, deadline=None)


@pytest.fixture(scope="module")
def model(good_candidate: Candidate) -> mlflow.pyfunc.PyFuncModel:
    return mlflow.pyfunc.load_model(good_candidate.model_uri)


def inside(column: Feature) -> st.SearchStrategy[float | str]:
    if column.categories is not None:
        return st.sampled_from(list(column.categories))
    if column.allowed is not None:
        return st.sampled_from(sorted(column.allowed))
    # Unbounded columns still stop at float32's range, which the trees compute in.
    low = -FLOAT32_MAX if column.minimum is None else column.minimum
    high = FLOAT32_MAX if column.maximum is None else column.maximum
    if column.type == "integer":
        return st.integers(math.ceil(low), math.floor(high)).map(float)
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def row_inside() -> st.SearchStrategy[dict[str, float | str]]:
    return st.fixed_dictionaries({column.name: inside(column) for column in FEATURES})


@st.composite
def value_outside(draw: st.DrawFn) -> tuple[str, float]:
    """A bounded column and a finite value below its minimum or above its maximum."""
    column = draw(st.sampled_from(BOUNDED))
    below = column.minimum is not None and (column.maximum is None or draw(st.booleans()))
    finite = {"allow_nan": False, "allow_infinity": False}
    if below:
        return column.name, draw(st.floats(max_value=column.minimum, exclude_max=True, **finite))
    return column.name, draw(st.floats(min_value=column.maximum, exclude_min=True, **finite))


def refusal(model: mlflow.pyfunc.PyFuncModel, frame: pd.DataFrame) -> str:
    with pytest.raises(MlflowException) as caught:
        model.predict(frame)
    assert caught.value.get_http_status_code() == 400
    return caught.value.message


@EXAMPLES
@given(rows=st.lists(row_inside(), min_size=1, max_size=5))
def test_any_rows_inside_the_rules_are_scored(
    model: mlflow.pyfunc.PyFuncModel, rows: list[dict[str, float | str]]
) -> None:
    predictions = model.predict(pd.DataFrame(rows)[FEATURE_NAMES])
    assert len(predictions) == len(rows) and all(math.isfinite(float(p)) for p in predictions)


@EXAMPLES
@given(row=row_inside(), bad=value_outside())
def test_any_value_outside_a_columns_bounds_is_refused_naming_the_column(
    model: mlflow.pyfunc.PyFuncModel, row: dict[str, float | str], bad: tuple[str, float]
) -> None:
    name, value = bad
    message = refusal(model, pd.DataFrame([{**row, name: value}]))
    # Past float32's range the range rule speaks first; either way the column is named with its rule.
    assert f"column {name!r}" in message and ("not between" in message or "beyond" in message)


@EXAMPLES
@given(
    row=row_inside(), extra=st.text(min_size=1, max_size=20).filter(lambda name: name not in FEATURE_NAMES)
)
def test_any_extra_column_is_refused_naming_it(
    model: mlflow.pyfunc.PyFuncModel, row: dict[str, float | str], extra: str
) -> None:
    message = refusal(model, pd.DataFrame([{**row, extra: 1.0}]))
    assert f"column {extra!r}: not in the schema" in message


@st.composite
def wrong_kind(draw: st.DrawFn) -> tuple[str, object, str]:
    """A column, a value of a kind its type refuses, and the words of the refusal: text in a numeric column;
    a number, or a string that is not one of its `categories`, in a category column."""
    column = draw(st.sampled_from(FEATURES))
    if column.categories is None:
        return column.name, draw(st.text(max_size=10)), "must be numeric"
    if draw(st.booleans()):
        return column.name, draw(st.floats(allow_nan=False)), "must be text"
    unknown = draw(st.text(max_size=10).filter(lambda value: value not in column.categories))
    return column.name, unknown, f"not one of {list(column.categories)}"


@EXAMPLES
@given(row=row_inside(), bad=wrong_kind())
def test_any_value_of_the_wrong_kind_is_refused_naming_the_column(
    model: mlflow.pyfunc.PyFuncModel, row: dict[str, float | str], bad: tuple[str, object, str]
) -> None:
    name, value, words = bad
    message = refusal(model, pd.DataFrame([{**row, name: value}]))
    assert f"column {name!r}" in message and words in message
