"""Publishing the lifecycle handler: what goes in its zip package, and which app of a stack receives it.

    python3 -m functions.publish build --output build/lifecycle_events.zip
    python3 -m functions.publish target --stack prod            # logs in to the state backend first
    python3 -m functions.publish target --outputs outputs.json  # `pulumi stack output --json`, saved

`build` packages functions/lifecycle_events exactly as the Flex Consumption plan's remote build expects it
(function_app.py, host.json and requirements.txt at the root, the lifecycle_handler package beside them)
and nothing else: no bytecode caches, no local.settings.json (local secrets), no virtual environments or
hidden files. The zip is reproducible: entries sorted, fixed timestamps and permissions, so the same
sources give the same bytes.

`target` reads a stack's outputs and sets the Azure Pipelines output variables `functionAppName` and
`resourceGroupName` of the step that runs it; both are empty when the stack has no lifecycle events, and
the publish job is skipped. Names are checked against Azure's rules before they reach a logging command.
With `--stack` it logs in to the state backend the way the pipeline's `pulumi` steps do (STATE_BACKEND
azblob: PULUMI_STATE_STORAGE_ACCOUNT and PULUMI_STATE_CONTAINER, through the Azure CLI login of the step;
pulumicloud: PULUMI_ACCESS_TOKEN) and runs `pulumi stack output --json`.

Standard library only: it runs on self-hosted agents without the project's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent / "lifecycle_events"
REQUIRED = ("function_app.py", "host.json", "requirements.txt")
"""Files the Python v2 programming model and the remote build need at the package root."""
EXCLUDED_DIRS = frozenset({"__pycache__", ".venv", "venv", ".python_packages", "tests", "node_modules"})
EXCLUDED_FILES = frozenset({"local.settings.json"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The earliest timestamp a zip entry can hold: every entry gets it, so builds are byte-for-byte equal."""

FUNCTION_APP_NAME = re.compile(r"^[A-Za-z0-9](?!.*--)[A-Za-z0-9-]{0,58}[A-Za-z0-9]$")
RESOURCE_GROUP_NAME = re.compile(r"^[-\w.()]{0,89}[-\w()]$")


class PublishError(Exception):
    """A package that the platform would refuse, or stack outputs that name no valid app."""


def package_files(app_dir: Path) -> list[Path]:
    """The files of the package, relative to `app_dir`, sorted; raises PublishError when one is missing."""
    if not app_dir.is_dir():
        msg = f"{app_dir}: no such function app folder"
        raise PublishError(msg)
    missing = [name for name in REQUIRED if not (app_dir / name).is_file()]
    if missing:
        msg = (
            f"{app_dir}: {missing} missing at the package root; the Functions host and remote build need them"
        )
        raise PublishError(msg)
    found = []
    for path in sorted(app_dir.rglob("*")):
        relative = path.relative_to(app_dir)
        if any(part.startswith(".") or part in EXCLUDED_DIRS for part in relative.parts[:-1]):
            continue
        if path.is_symlink():
            msg = f"{relative}: a symbolic link; the package holds only regular files"
            raise PublishError(msg)
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.name in EXCLUDED_FILES or path.suffix in EXCLUDED_SUFFIXES:
            continue
        found.append(relative)
    return found


def build_package(app_dir: Path, output: Path) -> list[str]:
    """Write the zip package of `app_dir` to `output`; return its entry names."""
    files = package_files(app_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    names = [relative.as_posix() for relative in files]
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for relative, name in zip(files, names, strict=True):
            entry = zipfile.ZipInfo(name, date_time=_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, (app_dir / relative).read_bytes())
    return names


def publish_target(outputs: dict[str, object]) -> tuple[str, str]:
    """(function app, resource group) from a stack's outputs; ("", "") when it has no lifecycle events."""
    app = str(outputs.get("lifecycleFunctionAppName") or "")
    if not app:
        return "", ""
    group = str(outputs.get("resourceGroupName") or "")
    if not FUNCTION_APP_NAME.fullmatch(app):
        msg = f"stack output lifecycleFunctionAppName = {app!r}: not a function app name"
        raise PublishError(msg)
    if not RESOURCE_GROUP_NAME.fullmatch(group):
        msg = f"stack output resourceGroupName = {group!r}: not a resource group name"
        raise PublishError(msg)
    return app, group


Runner = Callable[[Sequence[str]], str]
"""Runs a CLI command and returns its standard output; raises PublishError when it fails."""


def run_cli(command: Sequence[str]) -> str:
    """The real Runner: the command's output, or PublishError with its error output."""
    done = subprocess.run(list(command), capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        msg = f"{' '.join(command[:3])} failed ({done.returncode}): {done.stderr.strip()[-800:]}"
        raise PublishError(msg)
    return done.stdout


def _variable(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    # An undefined pipeline variable reaches a step as the literal text $(NAME).
    if not value or value.startswith("$("):
        msg = f"Variable {name} is not set: add it to the variable group (pipelines/README.md)"
        raise PublishError(msg)
    return value


def login_command(env: Mapping[str, str]) -> list[str]:
    """`pulumi login` for the state backend the pipeline's variables name."""
    backend = env.get("STATE_BACKEND", "azblob")
    if backend == "azblob":
        account = _variable(env, "PULUMI_STATE_STORAGE_ACCOUNT")
        container = _variable(env, "PULUMI_STATE_CONTAINER")
        return ["pulumi", "login", f"azblob://{container}?storage_account={account}"]
    if backend == "pulumicloud":
        _variable(env, "PULUMI_ACCESS_TOKEN")  # the CLI reads it from the environment, never a command line
        return ["pulumi", "login"]
    msg = f"STATE_BACKEND = {backend!r}: must be azblob or pulumicloud"
    raise PublishError(msg)


def stack_outputs(stack: str, env: Mapping[str, str], run: Runner = run_cli) -> dict[str, object]:
    """`pulumi stack output --json` of `stack`, after logging in to its state backend."""
    run(login_command(env))
    raw = run(["pulumi", "stack", "output", "--json", "--stack", stack, "--non-interactive"])
    return outputs_object(raw, f"pulumi stack output --json --stack {stack}")


def outputs_object(raw: str, source: str) -> dict[str, object]:
    """Stack outputs from the JSON `pulumi stack output --json` prints; PublishError naming `source` when it is
    not JSON or not an object of outputs (a list, a number...)."""
    try:
        outputs = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as err:
        msg = f"{source}: not JSON ({raw[:200]!r})"
        raise PublishError(msg) from err
    if not isinstance(outputs, dict):
        msg = (
            f"{source}: a JSON {type(outputs).__name__}, not an object of outputs "
            "(what pulumi stack output --json prints)"
        )
        raise PublishError(msg)
    return outputs


def _read_outputs(path: Path) -> dict[str, object]:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        msg = f"--outputs {path}: cannot be read as UTF-8 text ({err})"
        raise PublishError(msg) from err
    return outputs_object(raw, f"--outputs {path}")


def main(argv: list[str] | None = None, run: Runner = run_cli) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the handler's zip package")
    build.add_argument("--output", type=Path, required=True, help="the zip file to write")
    build.add_argument("--app-dir", type=Path, default=APP_DIR, help="the function app folder")
    target = commands.add_parser("target", help="set the pipeline variables naming the app to publish to")
    source = target.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="read the outputs of this stack with the pulumi CLI")
    source.add_argument("--outputs", type=Path, help="a saved `pulumi stack output --json`")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            names = build_package(args.app_dir, args.output)
            print(f"{args.output}: {len(names)} files: {', '.join(names)}")
            return 0
        outputs = stack_outputs(args.stack, os.environ, run) if args.stack else _read_outputs(args.outputs)
        app, group = publish_target(outputs)
    except (PublishError, OSError) as err:
        print(f"##vso[task.logissue type=error]{err}", file=sys.stderr)
        return 1
    print(f"publish to: {app} in {group}" if app else "the stack has no lifecycle events: nothing to publish")
    print(f"##vso[task.setvariable variable=functionAppName;isOutput=true]{app}")
    print(f"##vso[task.setvariable variable=resourceGroupName;isOutput=true]{group}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
