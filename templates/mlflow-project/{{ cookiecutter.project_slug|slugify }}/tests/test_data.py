"""The schema catches bad data with messages that name the column and the rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data import (
    FEATURE_NAMES,
    NUMERIC_FEATURE_NAMES,
    SCHEMA,
    TARGET,
    load_sample,
    load_source,
)
from {{ cookiecutter.package_name }}.errors import DataSourceError, SchemaError
from {{ cookiecutter.package_name }}.prep import prepare
from {{ cookiecutter.package_name }}.settings import TEST_FRACTION


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_sample()


def test_bundled_sample_matches_the_schema(sample: pd.DataFrame) -> None:
    assert list(SCHEMA.validate(sample).columns) == [*FEATURE_NAMES, TARGET]


def test_a_missing_column_is_named(sample: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=rf"column '{FEATURE_NAMES[0]}': required but missing"):
        SCHEMA.validate(sample.drop(columns=FEATURE_NAMES[0]))


def test_an_out_of_range_value_names_the_column_the_rule_and_the_row(sample: pd.DataFrame) -> None:
    broken = sample.copy()
    broken.loc[7, FEATURE_NAMES[2]] = -1e6
    with pytest.raises(SchemaError) as caught:
        SCHEMA.validate(broken)
    message = str(caught.value)
    assert f"column '{FEATURE_NAMES[2]}'" in message
    assert "1 value(s) not between" in message
    assert "first at row 7" in message


def test_missing_values_and_wrong_types_are_all_reported(sample: pd.DataFrame) -> None:
    broken = sample.copy()
    broken.loc[3, FEATURE_NAMES[0]] = None
    numeric = next(name for name in NUMERIC_FEATURE_NAMES if name != FEATURE_NAMES[0])
    broken[numeric] = "text"
    with pytest.raises(SchemaError) as caught:
        SCHEMA.validate(broken)
    assert len(caught.value.violations) == 2
    assert f"column '{FEATURE_NAMES[0]}'" in caught.value.violations[0]
    assert "missing value" in caught.value.violations[0]
    assert "must be numeric" in caught.value.violations[1]


def test_an_unexpected_column_is_refused(sample: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="column 'patient_id': not in the schema"):
        SCHEMA.validate(sample.assign(patient_id=1.0))


def test_csv_files_and_folders_load_like_the_sample(sample: pd.DataFrame, tmp_path: Path) -> None:
    sample.head(50).to_csv(tmp_path / "a.csv", index=False)
    sample.iloc[50:80].to_parquet(tmp_path / "b.parquet", index=False)
    assert len(load_source(str(tmp_path / "a.csv"))) == 50
    assert len(load_source(str(tmp_path))) == 80


def test_an_unreadable_source_says_what_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(DataSourceError, match=r"a \.csv/\.parquet file"):
        load_source(str(tmp_path / "notes.txt"))


def test_prep_writes_a_reproducible_split(tmp_path: Path) -> None:
    first = prepare("sample", tmp_path / "one")
    second = prepare("sample", tmp_path / "two")
    train, test = pd.read_parquet(first.train), pd.read_parquet(first.test)
    assert len(train) + len(test) == first.rows
    assert len(test) == pytest.approx(first.rows * TEST_FRACTION, abs=1)
    pd.testing.assert_frame_equal(test, pd.read_parquet(second.test))
