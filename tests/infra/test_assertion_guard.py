"""The guard against false greens: a test that asserts nothing fails instead of passing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.infra.conftest import REPO

CONFTEST = "from tests.support.assertion_guard import pytest_runtest_setup  # noqa: F401\n"


def _run_pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        check=False,
    )


def test_a_test_without_assertions_fails(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_forgetful.py").write_text(
        "def test_runs_but_checks_nothing():\n    sorted([3, 1, 2])\n\n"
        "def test_checks():\n    assert sorted([3, 1, 2]) == [1, 2, 3]\n"
    )
    result = _run_pytest(tmp_path)
    assert result.returncode == 1, result.stdout
    assert "test_runs_but_checks_nothing asserts nothing" in result.stdout
    assert "1 passed, 1 error" in result.stdout
