"""Fixtures for the cookiecutter template tests: generation helpers and one shared default project."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.templates.generation import HOOKS_DIR, TEMPLATE, generate

# project_hooks (the hooks' helper package) lives in the template's hooks/ folder, and the template's
# Jinja extension next to cookiecutter.json: cookiecutter puts the template folder on sys.path only
# while it generates, and the tests also render answers and import the helpers directly.
for folder in (HOOKS_DIR, TEMPLATE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project `cookiecutter templates/mlflow-project --no-input` generates, shared by slow tests."""
    return generate(tmp_path_factory.mktemp("default"))
