"""`python -m infra.plan` (behind `make plan`) runs a stack offline and writes resources.json."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from infra.plan.engine import cycle_collection_paused, run_program
from tests.infra.conftest import REPO, stack_config

VALID = "config:\n  azure-mlops:environment: qa\n  azure-mlops:owner: team\n  azure-mlops:costCenter: CC-1\n"


def _plan(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "infra.plan", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_plan_writes_one_record_per_resource(tmp_path: Path) -> None:
    result = _plan("--stack", "dev", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr + result.stdout
    records = json.loads((tmp_path / "dev" / "resources.json").read_text())
    assert len(records) > 20
    assert all(set(r) >= {"type", "name", "parent", "inputs", "protect"} for r in records)
    names = {r["name"] for r in records}
    assert all(r["parent"] is None or r["parent"] in names for r in records)
    workspace = next(r for r in records if r["type"] == "azure-native:machinelearningservices:Workspace")
    assert workspace["parent"] == "workspace"
    assert workspace["inputs"]["publicNetworkAccess"] == "Enabled"
    assert "azure-native:machinelearningservices:Workspace workspace-workspace" in result.stdout


def test_plan_of_an_unknown_stack_fails_naming_the_stacks(tmp_path: Path) -> None:
    result = _plan("--stack", "qa", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "stack 'qa' has no stack file Pulumi.qa.yaml" in result.stdout
    assert "['dev', 'prod', 'staging']" in result.stdout


def test_plan_of_a_bad_stack_file_names_the_key_and_declares_nothing(tmp_path: Path) -> None:
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.qa.yaml").write_text(
        "config:\n  azure-mlops:environment: qa\n  azure-mlops:owner: team\n  azure-mlops:costCenter: CC-1\n"
        "  azure-mlops:cpuClusterMaxNodes: 0\n"
    )
    result = _plan("--stack", "qa", "--root", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "azure-mlops:cpuClusterMaxNodes = '0'" in result.stdout
    assert not (tmp_path / "out" / "qa" / "resources.json").exists()


def test_plan_prints_user_text_literally_and_leaves_no_stale_output(tmp_path: Path) -> None:
    """Rich markup in a value (`[a-z]`, `[/]`) is printed as written, and a failed plan removes the old one."""
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    out = tmp_path / "out"
    (tmp_path / "Pulumi.qa.yaml").write_text(VALID + "  azure-mlops:networkProfile: public\n")
    ok = _plan("--stack", "qa", "--root", str(tmp_path), "--out", str(out), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    records = json.loads((out / "qa" / "resources.json").read_text())
    assert all("retainOnDelete" in r and "protect" in r for r in records)

    (tmp_path / "Pulumi.qa.yaml").write_text(VALID + "  azure-mlops:workload: '[/][bold]x[a-z]'\n")
    failed = _plan("--stack", "qa", "--root", str(tmp_path), "--out", str(out), cwd=tmp_path)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stdout + failed.stderr
    assert "azure-mlops:workload = '[/][bold]x[a-z]'" in failed.stdout
    assert not (out / "qa").exists(), "a failed plan left the previous plan's files to be read as current"


def test_a_run_pauses_the_cycle_collector_and_leaves_it_as_it_found_it() -> None:
    """The engine turns the collector off for a run (it cost most of a plan's CPU) but must not leave a test
    process, which plans hundreds of times, without one."""
    try:
        for enabled in (True, False):
            gc.enable() if enabled else gc.disable()
            with cycle_collection_paused():
                assert not gc.isenabled()
            run_program("dev", stack_config("dev"))
            assert gc.isenabled() is enabled
    finally:
        gc.enable()
