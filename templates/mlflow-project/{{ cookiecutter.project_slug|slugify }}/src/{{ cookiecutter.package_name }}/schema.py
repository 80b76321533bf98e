"""The data contract compiled to a pandera schema, and validation with it reported as messages that name the
column and the rule.

pandera finds every failure at once (`lazy=True`); `Schema` only words them: one line per column and
rule, with how many values break it and the first row that does, e.g.
`column 'bmi' (body-mass index, kg/m2): 1 value(s) not between 10 and 80, first at row 7 = -1000000.0`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.errors import SchemaError

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""scikit-learn's trees compute in float32: larger magnitudes (and infinities) cannot be scored."""


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


NUMERIC = "numeric"
"""The check name a column of text or booleans fails (`Schema` words it with the column's dtype)."""
TEXT = "text"
"""The check name a `category` column of numbers or booleans fails (`Schema` words it with the dtype)."""
NO_ROWS = "has no rows"


def _numeric_checks(
    minimum: float | None, maximum: float | None, allowed: tuple[float, ...] | None
) -> list[pa.Check]:
    checks = [
        pa.Check(_is_number, element_wise=False, name=NUMERIC, error=NUMERIC),
        pa.Check.in_range(-FLOAT32_MAX, FLOAT32_MAX, error=f"finite and within ±{FLOAT32_MAX:.3g}"),
    ]
    if allowed is not None:
        checks.append(pa.Check.isin(list(allowed), error=f"one of {sorted(allowed)}"))
    elif minimum is not None or maximum is not None:
        low, high = -np.inf if minimum is None else minimum, np.inf if maximum is None else maximum
        checks.append(pa.Check.in_range(low, high, error=f"between {low:g} and {high:g}"))
    return checks


def _is_text(values: pd.Series) -> bool:
    """Strings only (missing values aside), whether pandas read them as object, string or category dtype."""
    present = values.dropna()
    return bool(present.astype(object).map(lambda value: isinstance(value, str)).all())


def _category_checks(categories: tuple[str, ...]) -> list[pa.Check]:
    return [
        pa.Check(_is_text, element_wise=False, name=TEXT, error=TEXT),
        pa.Check.isin(list(categories), error=f"one of {list(categories)}"),
    ]


def pandera_schema(contract: DataContract, *, with_target: bool = True) -> pa.DataFrameSchema:
    """The contract as a pandera DataFrameSchema: every column required, nothing else allowed, any order.

    Numeric columns carry no dtype: JSON integers must pass for float features, so the `numeric` check
    refuses text and booleans instead, and `integer` features check for whole numbers. `category` columns
    carry none either (a CSV gives object, a parquet file object, string or category): the `text` check
    refuses numbers and booleans, and `isin` any string that is not one of the `categories`.
    """
    columns = {}
    for feature in contract.features:
        if feature.categories is not None:
            checks = _category_checks(feature.categories)
        else:
            checks = _numeric_checks(feature.minimum, feature.maximum, feature.allowed)
        if feature.type == "integer":
            checks.append(pa.Check(lambda s: s % 1 == 0, name="integer", error="a whole number"))
        columns[feature.name] = pa.Column(
            None, checks=checks, nullable=feature.nullable, description=feature.description or None
        )
    if with_target:
        target = contract.target
        checks = (
            [pa.Check.isin(list(target.classes), error=f"one of {list(target.classes)}")]
            if target.classes is not None
            else _numeric_checks(target.minimum, target.maximum, None)
        )
        columns[target.name] = pa.Column(
            None, checks=checks, nullable=False, description=target.description or None
        )
    return pa.DataFrameSchema(
        columns,
        strict=True,
        ordered=False,
        checks=[pa.Check(lambda frame: len(frame) > 0, element_wise=False, name=NO_ROWS, error=NO_ROWS)],
        name=contract.name,
    )


class Schema:
    """The columns a dataset must have (the contract's features, and its target unless `with_target=False`).

    Extra columns are refused, so a renamed feature is caught rather than silently ignored.
    """

    def __init__(self, contract: DataContract, *, with_target: bool = True) -> None:
        self.contract = contract
        self.pandera = pandera_schema(contract, with_target=with_target)
        self.names: list[str] = list(self.pandera.columns)
        self._meaning = {feature.name: feature.description for feature in contract.features}
        self._meaning[contract.target.name] = contract.target.description
        self._categories = {feature.name: feature.categories for feature in contract.category_features}

    def validate(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `frame` with the columns in contract order; raise SchemaError listing every violation.

        Category columns come back as object dtype with NaN for missing values, however they were read
        (a parquet file's string or category dtype, pandas' NA): one form for the encoder and for parquet.
        """
        try:
            with warnings.catch_warnings():
                # pandera's own concatenation of failure cases warns on pandas 2.3 (not about the data).
                warnings.simplefilter("ignore", FutureWarning)
                self.pandera.validate(frame, lazy=True)
        except SchemaErrors as err:
            raise SchemaError(self._violations(err.failure_cases, frame)) from None
        valid = frame[self.names]
        text = [name for name in self._categories if name in valid]
        if text:
            valid = valid.assign(**{name: _as_object(valid[name]) for name in text})
        return valid

    def _violations(self, cases: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
        problems: list[str] = []
        table = cases[cases["column"].isna() | ~cases["column"].isin(self.names)]
        for check, case in zip(table["check"], table["failure_case"], strict=True):
            if check == "column_in_dataframe":
                problems.append(f"column {case!r}: required but missing")
            elif check == "column_in_schema":
                problems.append(f"column {str(case)!r}: not in the schema (expected only {self.names})")
            elif check == NO_ROWS:
                problems.append(f"dataset: {NO_ROWS}")
        for name in self.names:
            problems += self._column_violations(name, cases[cases["column"] == name], frame)
        return problems

    def _column_violations(self, name: str, cases: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
        meaning = self._meaning.get(name)
        where = f"column {name!r}" + (f" ({meaning})" if meaning else "")
        if (cases["check"] == NUMERIC).any():  # the rules below mean nothing for text or booleans
            return [f"{where}: must be numeric, found dtype {frame[name].dtype}"]
        if (cases["check"] == TEXT).any():  # nor for numbers in a category column
            first = cases[cases["check"] == TEXT]["index"]
            return [
                f"{where}: must be text, one of {list(self._categories[name])}, found dtype {frame[name].dtype}"
                + (f" (first non-text value at row {first.iloc[0]})" if first.notna().any() else "")
            ]
        problems = []
        for check, failed in cases.groupby("check", sort=False):
            first = failed["index"].iloc[0]
            if check == "not_nullable":
                problems.append(f"{where}: {len(failed)} missing value(s), first at row {first}")
            else:
                value = failed["failure_case"].iloc[0]
                problems.append(
                    f"{where}: {len(failed)} value(s) not {check}, first at row {first} = {value}"
                )
        return problems


def _as_object(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), np.nan)
