"""Declarative column rules and a validator whose messages name the column and the rule broken."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.errors import SchemaError

_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Column:
    """One numeric column: its bounds (inclusive) or its allowed values, and what it means."""

    name: str
    meaning: str
    minimum: float | None = None
    maximum: float | None = None
    allowed: frozenset[float] | None = None

    def rule(self) -> str:
        if self.allowed is not None:
            return f"one of {sorted(self.allowed)}"
        low = "-inf" if self.minimum is None else f"{self.minimum:g}"
        high = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"between {low} and {high}"

    def violations(self, values: pd.Series) -> list[str]:
        where = f"column {self.name!r} ({self.meaning})"
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            return [f"{where}: must be numeric, found dtype {values.dtype}"]
        problems: list[str] = []
        missing = values.isna()
        if missing.any():
            problems.append(
                f"{where}: {int(missing.sum())} missing value(s), first at row {values.index[missing][0]}"
            )
        present = values[~missing]
        # scikit-learn's trees compute in float32: larger magnitudes (and infinities) cannot be scored.
        huge = np.abs(present.to_numpy(dtype="float64")) > _FLOAT32_MAX
        if huge.any():
            problems.append(
                f"{where}: {int(huge.sum())} value(s) infinite or beyond ±{_FLOAT32_MAX:.3g}, "
                f"first at row {present.index[huge][0]}"
            )
            present = present[~huge]
        if self.allowed is not None:
            bad = ~present.isin(self.allowed)
        else:
            bad = pd.Series(False, index=present.index)
            if self.minimum is not None:
                bad |= present < self.minimum
            if self.maximum is not None:
                bad |= present > self.maximum
        if bad.any():
            row = present.index[bad][0]
            problems.append(
                f"{where}: {int(bad.sum())} value(s) not {self.rule()}, first at row {row} = {present[row]}"
            )
        return problems


@dataclass(frozen=True)
class Schema:
    """The columns a dataset must have, in order; extra columns are refused so a renamed feature is caught."""

    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def validate(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `frame` with the columns in schema order; raise SchemaError listing every violation."""
        problems: list[str] = []
        missing = [name for name in self.names if name not in frame.columns]
        problems += [f"column {name!r}: required but missing" for name in missing]
        extra = [str(name) for name in frame.columns if name not in self.names]
        problems += [f"column {name!r}: not in the schema (expected only {self.names})" for name in extra]
        if frame.empty:
            problems.append("dataset: has no rows")
        for column in self.columns:
            if column.name in frame.columns:
                problems += column.violations(frame[column.name])
        if problems:
            raise SchemaError(problems)
        return frame[self.names]
