"""A project fresh from the template installs in CI with no manual step, and exactly its uv.lock once one is committed.

Nothing here reads the YAML for words: the generated project's own copy of the setup step
(.azure-pipelines/templates/steps/setup-python-uv.yml) runs its bash steps for real, as the agent would, and so do
the generated Makefile's `setup`, `lock` and `lock-check`, against the package index, with a uv cache of their own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipelines.validation.expressions import substitute
from tests.templates.generation import generate, run_tool

pytestmark = pytest.mark.slow

STEP = Path(".azure-pipelines") / "templates" / "steps" / "setup-python-uv.yml"
_MACRO = re.compile(r"\$\((?P<name>[A-Za-z.]+)\)")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("ci-install"), ci_provider="azure-pipelines", deployment="online")


@pytest.fixture(scope="module")
def uv_version(generated: Path) -> str:
    makefile = (generated / "Makefile").read_text(encoding="utf-8")
    version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert version, "the Makefile pins uv"
    return version.group(1)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory, uv_version: str) -> dict[str, Path]:
    """What a Microsoft-hosted agent has: a `python` with pip (UsePythonVersion), and the job's folders. The uv
    cache is this module's own: the step prunes it, and the machine's cache must not be touched."""
    root = tmp_path_factory.mktemp("agent")
    python = root / "python"
    subprocess.run(["python3.11", "-m", "venv", str(python)], check=True, timeout=120)
    pip = [str(python / "bin" / "python"), "-m", "pip", "install", "--quiet", f"uv=={uv_version}"]
    subprocess.run(pip, check=True, timeout=300)
    (root / "temp").mkdir()
    return {"bin": python / "bin", "temp": root / "temp", "workspace": root, "uv": python / "bin" / "uv"}


@pytest.fixture
def project(generated: Path, tmp_path: Path) -> Path:
    """A fresh copy of the generated project, as a checkout of it would be: no uv.lock, no .venv."""
    copy = tmp_path / generated.name
    shutil.copytree(generated, copy)
    assert not (copy / "uv.lock").exists()
    return copy


def _environment(agent: dict[str, Path], **extra: str) -> dict[str, str]:
    """This machine's environment (certificates, proxies) without its Python or uv settings; the agent's
    `python` first on PATH."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV", "PYTHON"))}
    return {
        **kept,
        "PATH": os.pathsep.join([str(agent["bin"]), "/usr/local/bin", "/usr/bin", "/bin"]),
        "UV_CACHE_DIR": str(agent["workspace"] / ".uv-cache"),
        **extra,
    }


def run_setup_step(
    project: Path, agent: dict[str, Path], **parameters: object
) -> subprocess.CompletedProcess[str]:
    """Run the step file's bash steps in order, as the agent does, stopping at the first that fails."""
    document = yaml.safe_load((project / STEP).read_text(encoding="utf-8"))
    declared = {spec["name"]: spec.get("default") for spec in document["parameters"]}
    scope = {"parameters": {**declared, **parameters}}
    macros = {"Agent.TempDirectory": str(agent["temp"]), "Pipeline.Workspace": str(agent["workspace"])}
    output = ""
    result = subprocess.CompletedProcess[str]([], 0, "", "")
    for step in document["steps"]:
        if "bash" not in step:
            continue
        env = {
            name: _MACRO.sub(lambda m: macros[m["name"]], str(substitute(str(value), scope)))
            for name, value in step.get("env", {}).items()
        }
        script = substitute(step["bash"], scope)
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script],
            cwd=project,
            env=_environment(agent, **env),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        output += f"--- {step['displayName']}\n{result.stdout}{result.stderr}"
        if result.returncode != 0:
            break
    return subprocess.CompletedProcess[str](result.args, result.returncode, output, "")


def make(project: Path, agent: dict[str, Path], target: str) -> subprocess.CompletedProcess[str]:
    python = agent["bin"] / "python"
    return run_tool(
        "make", target, f"UV={agent['uv']}", f"PYTHON={python}", cwd=project, env=_environment(agent)
    )


def test_a_fresh_project_installs_from_its_pins_and_says_so(project: Path, agent: dict[str, Path]) -> None:
    result = run_setup_step(project, agent)

    assert result.returncode == 0, result.stdout[-4000:]
    assert "##vso[task.logissue type=warning]No uv.lock committed" in result.stdout
    assert "##[group]Versions resolved for this run" in result.stdout
    pins = (project / "pyproject.toml").read_text(encoding="utf-8")
    mlflow_pin = re.search(r'"mlflow==([^"]+)"', pins)
    assert mlflow_pin and f"mlflow=={mlflow_pin.group(1)}" in result.stdout, "the log lists what was resolved"
    assert f"##vso[task.prependpath]{project}/.venv/bin" in result.stdout
    assert (agent["temp"] / "uv-cache-key").read_bytes() == (project / "pyproject.toml").read_bytes()
    # What CD runs next: the project and its azure extra (the `cd` group) import from .venv.
    probe = run_tool(
        project / ".venv/bin/python", "-c", "import azure.ai.ml, mlflow; print(mlflow.__version__)"
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == mlflow_pin.group(1)


def test_pull_requests_and_local_setup_work_without_a_lock(project: Path, agent: dict[str, Path]) -> None:
    check = make(project, agent, "lock-check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no uv.lock committed, nothing to check" in check.stdout

    setup = make(project, agent, "setup")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "no uv.lock yet, installing pyproject.toml's pins" in setup.stdout
    assert (project / ".venv/bin/pytest").is_file() and (project / ".venv/bin/ruff").is_file()
    assert not (project / "uv.lock").exists(), "setup must not write a lock behind the user's back"


def test_a_committed_lock_is_installed_exactly_and_a_stale_one_fails(
    project: Path, agent: dict[str, Path]
) -> None:
    locked = make(project, agent, "lock")
    assert locked.returncode == 0, locked.stdout + locked.stderr
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    assert 'name = "mlflow"' in lock
    assert make(project, agent, "lock-check").returncode == 0

    step = run_setup_step(project, agent)
    assert step.returncode == 0, step.stdout[-4000:]
    assert "Installing exactly the versions in uv.lock (uv sync --locked)" in step.stdout
    assert "logissue type=warning" not in step.stdout
    assert (agent["temp"] / "uv-cache-key").read_text(encoding="utf-8") == lock
    setup = make(project, agent, "setup")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "installing exactly the versions in uv.lock" in setup.stdout

    # A dependency changed in pyproject.toml without re-locking: every install path refuses it.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace('"pandas==2.3.3"', '"pandas==2.3.2"'))
    assert '"pandas==2.3.2"' in pyproject.read_text(encoding="utf-8")
    stale_check = make(project, agent, "lock-check")
    assert stale_check.returncode != 0
    assert "uv lock" in stale_check.stdout + stale_check.stderr
    stale_step = run_setup_step(project, agent)
    assert stale_step.returncode != 0
    assert "--- uv sync\n" in stale_step.stdout, "the cache key step passed; the locked sync refused"
    assert make(project, agent, "setup").returncode != 0
    assert (project / "uv.lock").read_text(encoding="utf-8") == lock, "nothing re-locked silently"


def test_a_pipeline_that_requires_a_lock_refuses_to_resolve(project: Path, agent: dict[str, Path]) -> None:
    result = run_setup_step(project, agent, requireLock=True)

    assert result.returncode == 1
    assert "##vso[task.logissue type=error]No uv.lock in" in result.stdout
    assert not (project / ".venv").exists()
