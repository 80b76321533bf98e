"""The handler is tested with the Azure SDK versions it ships with: requirements.txt (what the Flex
Consumption remote build installs) pins what the project's lock file resolves and pyproject.toml pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.functions.conftest import APP

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines: list[str]) -> dict[str, str]:
    found = (re.fullmatch(r"\s*([A-Za-z0-9_.-]+)==([^\s;#]+)\s*", line) for line in lines)
    return {m.group(1).lower(): m.group(2) for m in found if m}


def _shipped() -> dict[str, str]:
    lines = (APP / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return _pins([line.split("#")[0] for line in lines if line.split("#")[0].strip()])


def _locked() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {package["name"].lower(): package["version"] for package in lock["package"]}


def _declared() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = list(project["project"]["dependencies"])
    for group in project["dependency-groups"].values():
        declared += [item for item in group if isinstance(item, str)]
    return _pins(declared)


def test_the_audit_table_sdk_is_pinned_alike_in_requirements_pyproject_and_the_lock() -> None:
    shipped = _shipped()
    assert shipped["azure-data-tables"] == "12.7.0"
    assert _declared()["azure-data-tables"] == shipped["azure-data-tables"]
    assert _locked()["azure-data-tables"] == shipped["azure-data-tables"]


def test_every_package_the_function_app_ships_is_the_version_the_tests_run() -> None:
    shipped, locked, declared = _shipped(), _locked(), _declared()
    assert set(shipped) == {"azure-functions", "azure-identity", "azure-data-tables", "pydantic"}
    assert {name: locked.get(name) for name in shipped} == shipped
    assert {name: declared.get(name) for name in shipped} == shipped
