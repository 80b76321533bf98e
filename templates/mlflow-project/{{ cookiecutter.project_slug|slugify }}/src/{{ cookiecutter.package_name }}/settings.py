"""Names and constants every step shares: change them here, not in the steps."""

from pathlib import Path
from typing import Final

PACKAGE: Final = "{{ cookiecutter.package_name }}"

MODEL_NAME: Final = "{{ cookiecutter.project_slug }}"
"""Registered model name, in the local MLflow registry and in the Azure ML workspace and registry."""

EXPERIMENT_NAME: Final = "{{ cookiecutter.project_slug }}"
"""Used when nothing else chose an experiment (`mlflow run`, Azure ML jobs and tests choose their own)."""

CHAMPION_ALIAS: Final = "champion"
"""The alias serving and batch scoring resolve (`models:/<name>@champion`); only the gate moves it."""

MODEL_ARTIFACT: Final = "model"

WORKDIR: Final = Path("artifacts")
"""Local hand-off folder between steps; on Azure ML each step gets its own output folder instead."""

RANDOM_STATE: Final = 42
TEST_FRACTION: Final = 0.2
