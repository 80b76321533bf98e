"""The data, as the data contract (contract.yml) declares it: its columns, loading, validation and splitting.

Nothing here knows a dataset: the features, the target, their rules and the bundled sample all come from the
contract, so switching datasets means replacing contract.yml (python -m {{ cookiecutter.package_name }}.contract infer).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }} import contract
from {{ cookiecutter.package_name }}.datafiles import load_sample as load_contract_sample
from {{ cookiecutter.package_name }}.datafiles import read_files
from {{ cookiecutter.package_name }}.schema import Schema
from {{ cookiecutter.package_name }}.settings import RANDOM_STATE, TEST_FRACTION

SAMPLE_SOURCE = "sample"
CONTRACT = contract.load()
TARGET = CONTRACT.target.name
FEATURES: tuple[contract.Feature, ...] = CONTRACT.features
FEATURE_NAMES: list[str] = CONTRACT.feature_names
NUMERIC_FEATURE_NAMES: list[str] = [feature.name for feature in FEATURES if not feature.is_category]
"""The features that hold numbers (bounds, the numeric checks and quantile drift bins apply to them)."""
FEATURE_SCHEMA = Schema(CONTRACT, with_target=False)
"""What a scoring request must contain."""
SCHEMA = Schema(CONTRACT)
"""What training data must contain."""

__all__ = ["read_files"]  # re-exported: score_batch and payload read files through data


def load_sample() -> pd.DataFrame:
    """The contract's bundled sample, with the contract's column names (not yet validated)."""
    return load_contract_sample(CONTRACT)


def load_source(source: str) -> pd.DataFrame:
    """Load `source`: "sample", a .csv/.parquet file, a folder of them (an Azure ML uri_folder mount) or an
    MLTable folder. The result is validated against SCHEMA before it is returned."""
    if source == SAMPLE_SOURCE:
        return SCHEMA.validate(load_sample())
    return SCHEMA.validate(read_files(Path(source)))


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reproducible train/test split, stratified on the label for classification."""
    train, test = train_test_split(
        frame,
        test_size=TEST_FRACTION,
        random_state=RANDOM_STATE,
        stratify=frame[TARGET] if CONTRACT.task == "classification" else None,
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return frame[FEATURE_NAMES], frame[TARGET]
