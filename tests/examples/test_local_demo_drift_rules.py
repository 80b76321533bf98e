"""The drift verdict: a feature drifts only when PSI is high *and* the test (KS for numbers, chi-squared for
categories) says the samples differ."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from local_e2e.in_project.batches import shifted
from local_e2e.in_project.drift_report import drift_table, verdict

FEATURES = ["bmi", "age"]


def _psi(reference: pd.DataFrame, current: pd.DataFrame) -> pd.Series:
    """A stand-in for the project's feature_drift: PSI over the reference's deciles."""
    values = {}
    for name in FEATURES:
        edges = np.unique(np.quantile(reference[name], np.linspace(0, 1, 11)))
        edges[0], edges[-1] = -np.inf, np.inf
        expected = np.clip(np.histogram(reference[name], edges)[0] / len(reference), 1e-6, None)
        actual = np.clip(np.histogram(current[name], edges)[0] / len(current), 1e-6, None)
        values[name] = float(np.sum((actual - expected) * np.log(actual / expected)))
    return pd.Series(values)


def _frame(rows: int, seed: int, bmi_mean: float = 26.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"bmi": rng.normal(bmi_mean, 4.0, rows), "age": rng.normal(48.0, 13.0, rows)})


def _table(current: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    reference = _frame(400, seed=1) if reference is None else reference
    return drift_table(reference, current, FEATURES, _psi, psi_threshold=0.25, p_value=0.01)


def test_a_shifted_feature_drifts_and_an_unshifted_one_does_not() -> None:
    table = _table(_frame(300, seed=2, bmi_mean=31.0))
    assert bool(table.loc["bmi", "drifted"]) and not bool(table.loc["age", "drifted"])
    assert table.loc["bmi", "mean_shift_in_sd"] > 1.0
    result = verdict(table, "shifted", 0.25, 0.01)
    assert result["drift"] is True
    assert result["drifted_features"] == ["bmi"]
    assert result["top_feature"] == "bmi"
    assert result["rule"] == (
        "a feature drifts when PSI >= 0.25 and its test's p-value < 0.01 (KS for numbers, chi-squared for categories)"
    )


def test_small_batch_noise_does_not_raise_drift() -> None:
    # 20 rows from the very same distribution: PSI alone is inflated by sampling noise, KS is not fooled.
    table = _table(_frame(20, seed=3))
    result = verdict(table, "small", 0.25, 0.01)
    assert table["psi"].max() > 0.1
    assert result["drift"] is False and result["drifted_features"] == []


def test_the_shifted_batch_keeps_coded_columns_and_schema_bounds() -> None:
    class Column:
        def __init__(
            self,
            name: str,
            minimum: float | None,
            maximum: float | None,
            allowed: frozenset | None = None,
            type: str = "float",
        ):
            self.name, self.minimum, self.maximum, self.allowed = name, minimum, maximum, allowed
            self.type = type

    frame = pd.DataFrame({"age": [50.0, 110.0], "sex": [1.0, 2.0], "island": ["Dream", "Biscoe"]})
    columns = [
        Column("age", 0, 120),
        Column("sex", None, None, frozenset({1.0, 2.0})),
        Column("island", None, None, type="category"),
    ]
    result = shifted(frame, columns, 0.15)
    assert result["age"].tolist() == pytest.approx([57.5, 120.0])  # 110 * 1.15 is clipped to 120
    assert result["sex"].tolist() == [1.0, 2.0]
    assert result["island"].tolist() == ["Dream", "Biscoe"]


def _islands(rows: int, seed: int, shares: list[float]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.choice(["Biscoe", "Dream", "Torgersen", None], size=rows, p=shares)
    return pd.DataFrame({"island": values})


def _island_psi(reference: pd.DataFrame, current: pd.DataFrame) -> pd.Series:
    """PSI over the values' shares, as the project's feature_drift computes it for a category."""
    expected = reference["island"].value_counts(normalize=True, dropna=False)
    actual = current["island"].value_counts(normalize=True, dropna=False).reindex(expected.index).fillna(0)
    expected, actual = np.clip(expected, 1e-6, None), np.clip(actual, 1e-6, None)
    return pd.Series({"island": float(np.sum((actual - expected) * np.log(actual / expected)))})


def test_a_category_is_judged_by_the_chi_squared_test_of_its_value_counts() -> None:
    reference = _islands(400, seed=1, shares=[0.5, 0.3, 0.15, 0.05])
    same = _islands(300, seed=2, shares=[0.5, 0.3, 0.15, 0.05])
    moved = _islands(300, seed=3, shares=[0.1, 0.2, 0.65, 0.05])

    def table(current: pd.DataFrame) -> pd.DataFrame:
        return drift_table(
            reference,
            current,
            ["island"],
            _island_psi,
            psi_threshold=0.25,
            p_value=0.01,
            categorical={"island"},
        )

    assert table(moved).loc["island", "test"] == "chi2" and bool(table(moved).loc["island", "drifted"])
    assert table(moved).loc["island", "p_value"] < 1e-6
    assert not bool(table(same).loc["island", "drifted"]) and table(same).loc["island", "p_value"] > 0.01
