{%- if cookiecutter.framework == "pytorch" -%}
"""The data: scikit-learn's handwritten digits as the bundled sample, its schema, loading and splitting.

1797 scans of handwritten digits, each 8x8 pixels of ink density 0-16 (`pixel_<row>_<column>`, row by
row), and `digit`, the digit written (0-9). It ships inside scikit-learn, so the project trains offline;
the network sees each row as a one-channel 8x8 image (torch_model.as_images).
"""
{%- elif cookiecutter.task == "regression" -%}
"""The data: scikit-learn's diabetes dataset as the bundled sample, its schema, loading and splitting.

442 patients, ten baseline measurements each (unscaled, as measured), and `progression`: a
quantitative measure of disease progression one year later. It ships inside scikit-learn, so the
project trains offline; on Azure ML the same schema applies to the datastore data.
"""
{%- else -%}
"""The data: scikit-learn's breast-cancer dataset as the bundled sample, its schema, loading and splitting.

569 fine-needle aspirates, 30 cell-nucleus measurements each, and `malignant` (1 = malignant,
0 = benign): the positive class is the one a missed prediction hurts, so recall means sensitivity.
It ships inside scikit-learn, so the project trains offline; on Azure ML the same schema applies.
"""
{%- endif %}

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
{%- if cookiecutter.framework == "pytorch" %}
from sklearn.datasets import load_digits
{%- elif cookiecutter.task == "regression" %}
from sklearn.datasets import load_diabetes
{%- else %}
from sklearn.datasets import load_breast_cancer
{%- endif %}
from sklearn.model_selection import train_test_split

from {{ cookiecutter.package_name }}.errors import DataSourceError
from {{ cookiecutter.package_name }}.schema import Column, Schema
from {{ cookiecutter.package_name }}.settings import RANDOM_STATE, TEST_FRACTION

SAMPLE_SOURCE = "sample"
{%- if cookiecutter.framework == "pytorch" %}
TARGET = "digit"
IMAGE_SIDE = 8
"""Each row is an IMAGE_SIDE x IMAGE_SIDE image, its pixels in row-major order."""

# Ink density is a count of set bits in a 4x4 block of the 32x32 scan: 0-16, nothing else.
FEATURES: tuple[Column, ...] = tuple(
    Column(f"pixel_{row}_{column}", f"ink density at row {row}, column {column} (0-16)", 0, 16)
    for row in range(IMAGE_SIDE)
    for column in range(IMAGE_SIDE)
)
FEATURE_SCHEMA = Schema(FEATURES)
"""What a scoring request must contain."""
SCHEMA = Schema((*FEATURES, Column(TARGET, "the digit written", allowed=frozenset(map(float, range(10))))))
{%- elif cookiecutter.task == "regression" %}
TARGET = "progression"

# Bounds are physiological plausibility, wider than the sample's range: they catch unit mix-ups
# (BMI in lb/in², glucose in mmol/L) and sentinel values, not unusual patients.
FEATURES: tuple[Column, ...] = (
    Column("age", "age in years", 0, 120),
    Column("sex", "sex, coded 1 or 2", allowed=frozenset({1.0, 2.0})),
    Column("bmi", "body-mass index, kg/m2", 10, 80),
    Column("bp", "mean arterial blood pressure, mmHg", 30, 250),
    Column("s1", "total serum cholesterol, mg/dL", 50, 600),
    Column("s2", "low-density lipoproteins, mg/dL", 0, 500),
    Column("s3", "high-density lipoproteins, mg/dL", 0, 200),
    Column("s4", "total cholesterol / HDL ratio", 0, 30),
    Column("s5", "log of serum triglycerides", 0, 10),
    Column("s6", "blood sugar level, mg/dL", 20, 600),
)
FEATURE_SCHEMA = Schema(FEATURES)
"""What a scoring request must contain."""
SCHEMA = Schema((*FEATURES, Column(TARGET, "disease progression after one year", 0, 1000)))
{%- else %}
TARGET = "malignant"

_MEASUREMENTS = (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness",
    "concavity", "concave_points", "symmetry", "fractal_dimension",
)  # fmt: skip
# Every measurement is a length, area or ratio of one: negative values mean a broken export.
FEATURES: tuple[Column, ...] = tuple(
    Column(f"{statistic}_{measurement}", f"{statistic} {measurement.replace('_', ' ')}", 0, None)
    for statistic in ("mean", "error", "worst")
    for measurement in _MEASUREMENTS
)
FEATURE_SCHEMA = Schema(FEATURES)
"""What a scoring request must contain."""
SCHEMA = Schema((*FEATURES, Column(TARGET, "1 = malignant, 0 = benign", allowed=frozenset({0.0, 1.0}))))
{%- endif %}
FEATURE_NAMES: list[str] = [column.name for column in FEATURES]


def load_sample() -> pd.DataFrame:
    """The bundled sample, with the schema's column names."""
{%- if cookiecutter.framework == "pytorch" %}
    frame = load_digits(as_frame=True).frame
    return frame.rename(columns={"target": TARGET}).astype("float64")
{%- elif cookiecutter.task == "regression" %}
    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame.rename(columns={"target": TARGET})
{%- else %}
    bunch = load_breast_cancer(as_frame=True)
    # "mean radius" -> "mean_radius", "radius error" -> "error_radius": statistic first, snake case.
    renamed = {name: _snake_case(name) for name in bunch.feature_names}
    features = bunch.data.rename(columns=renamed)
    # scikit-learn codes benign as 1; flip it so the positive class is the malignant one.
    return features.assign(**{TARGET: (1 - bunch.target).astype("float64")})


def _snake_case(name: str) -> str:
    words = name.split(" ")
    if words[-1] == "error":
        words = ["error", *words[:-1]]
    return "_".join(words)
{%- endif %}


def load_source(source: str) -> pd.DataFrame:
    """Load `source`: "sample", a .csv/.parquet file, or a folder of them (an Azure ML uri_folder mount).

    The result is validated against SCHEMA before it is returned.
    """
    if source == SAMPLE_SOURCE:
        return SCHEMA.validate(load_sample())
    return SCHEMA.validate(read_files(Path(source)))


def read_files(path: Path) -> pd.DataFrame:
    """Read one .csv/.parquet file, or every such file under a folder, as one frame (no validation)."""
    files = sorted(p for p in path.rglob("*") if p.suffix in _READERS) if path.is_dir() else [path]
    if not files or not all(p.is_file() and p.suffix in _READERS for p in files):
        raise DataSourceError(
            f"data source {str(path)!r}: expected {SAMPLE_SOURCE!r}, a .csv/.parquet file, "
            "or a folder containing such files"
        )
    return pd.concat([_read_file(p) for p in files], ignore_index=True)


def _read_file(path: Path) -> pd.DataFrame:
    """One file, or a DataSourceError saying what is wrong with it (never a parser's traceback)."""
    where = f"data file {str(path)!r}"
    try:
        return _READERS[path.suffix](path)
    except UnicodeDecodeError as err:
        raise DataSourceError(
            f"{where}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); save it as UTF-8"
        ) from err
    except pd.errors.EmptyDataError as err:
        raise DataSourceError(
            f"{where}: empty, expected a header row with the columns {FEATURE_NAMES}"
        ) from err
    except pd.errors.ParserError as err:
        raise DataSourceError(f"{where}: not a readable CSV ({err})") from err
    except (pa.ArrowException, OSError) as err:
        raise DataSourceError(f"{where}: not a readable Parquet file ({err})") from err


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8")


_READERS = {".csv": _read_csv, ".parquet": pd.read_parquet}


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reproducible train/test split{% if cookiecutter.task == "classification" %}, stratified on the label{% endif %}."""
    train, test = train_test_split(
        frame,
        test_size=TEST_FRACTION,
        random_state=RANDOM_STATE,
{%- if cookiecutter.task == "classification" %}
        stratify=frame[TARGET],
{%- endif %}
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return frame[FEATURE_NAMES], frame[TARGET]
