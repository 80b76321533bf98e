"""What a build agent provides a step, shared by the Azure Pipelines and GitHub Actions runners: a PATH whose
`python`, `python3`, `az`, `pulumi`, `uv` and `docker` are answered by the twin (`shims`), and the environment they need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID

from .caller import Caller
from .shims import STATE_VARIABLE, SUBSCRIPTION_VARIABLE

SHIMS = Path(__file__).resolve().parent / "shims.py"


def wrapper(path: Path, command: str) -> None:
    """An executable at `path` that runs `command` through the twin's shims with this interpreter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SHIMS}" {command} "$@"\n')
    path.chmod(0o755)


def install_wrappers(folder: Path) -> Path:
    for command, name in (
        ("python", "python"),
        ("python", "python3"),
        ("az", "az"),
        ("pulumi", "pulumi"),
        ("uv", "uv"),
        ("docker", "docker"),
    ):
        wrapper(folder / name, command)
    return folder


def run_bash(script: str, *, cwd: Path | str, env: dict[str, str], caller: Caller, bin_dir: Path, state: Path,
             home: Path, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run `script` with bash as the agent would, its calls answered by the twin whose state is in `state`."""
    full = {
        **env,
        **caller.env(),
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(home),
        STATE_VARIABLE: str(state),
        SUBSCRIPTION_VARIABLE: DEFAULT_SUBSCRIPTION_ID,  # what `az account show` says: the plan's subscription
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", *options, "-c", script],
        cwd=cwd, env=full, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
