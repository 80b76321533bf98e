"""Validate every Azure ML CLI v2 spec under aml/ offline, with the SDK's own loaders.

    python -m {{ cookiecutter.package_name }}.aml_specs aml

Each YAML names its schema in `$schema`; the matching `azure.ai.ml.load_*` parses it. The loaders do
not check that local `code:` / `conda_file:` paths exist, nor that `${{ '{{' }}inputs.x}}`-style references
name declared inputs and outputs, so this module checks those too. Needs the `azure` extra.
"""

from __future__ import annotations

import importlib
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.errors import SpecError

# `$schema` file name -> azure.ai.ml loader.
LOADERS: dict[str, str] = {
    "environment.schema.json": "load_environment",
    "pipelineJob.schema.json": "load_job",
    "commandJob.schema.json": "load_job",
    "managedOnlineEndpoint.schema.json": "load_online_endpoint",
    "managedOnlineDeployment.schema.json": "load_online_deployment",
    "batchEndpoint.schema.json": "load_batch_endpoint",
    "batchDeployment.schema.json": "load_batch_deployment",
    "model.schema.json": "load_model",
    "monitorSchedule.schema.json": "load_schedule",
}
# azure.ai.ml does not re-export load_schedule (it is what `az ml schedule create` calls): import its home.
LOADER_MODULES: dict[str, str] = {"load_schedule": "azure.ai.ml.entities._load_functions"}
LOCAL_PATH_KEYS = ("code", "conda_file")
# The SDK logs a warning per experimental schema class it touches: noise, not findings.
logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)

_OWN_REFERENCE = re.compile(r"\$\{\{\s*(inputs|outputs)\.(\w+)\s*\}\}")
_PARENT_INPUT = re.compile(r"\$\{\{\s*parent\.inputs\.(\w+)\s*\}\}")
_SIBLING_OUTPUT = re.compile(r"\$\{\{\s*parent\.jobs\.(\w+)\.outputs\.(\w+)\s*\}\}")


def spec_files(root: Path) -> list[Path]:
    """Every YAML under `root` except the conda files that specs point at (they have no `$schema`)."""
    files = sorted([*root.rglob("*.yml"), *root.rglob("*.yaml")])
    conda_files = {
        (path.parent / document["conda_file"]).resolve()
        for path in files
        if isinstance(document := _read(path), Mapping) and isinstance(document.get("conda_file"), str)
    }
    return [path for path in files if path.resolve() not in conda_files]


def validate_spec(path: Path) -> Any:
    """Load `path` with its loader and check its local paths and references; return the SDK entity."""
    document = _read(path)
    schema = str(document.get("$schema", "")) if isinstance(document, Mapping) else ""
    loader_name = LOADERS.get(schema.rsplit("/", 1)[-1])
    if loader_name is None:
        raise SpecError(f"{path}: `$schema` {schema!r} is not one of the supported schemas {sorted(LOADERS)}")
    # Our checks first: where the loader does notice these, its messages do not name the cause.
    problems = [*_missing_local_paths(document, path.parent), *_dangling_references(document)]
    if problems:
        raise SpecError(f"{path}:\n  " + "\n  ".join(problems))
    loader = getattr(importlib.import_module(LOADER_MODULES.get(loader_name, "azure.ai.ml")), loader_name)
    try:
        with warnings.catch_warnings():
            # load_batch_deployment builds the BatchDeployment base class, which warns that it is
            # deprecated for ModelBatchDeployment; azure.ai.ml exports no loader for that one.
            warnings.filterwarnings("ignore", "This class is intended as a base class", UserWarning)
            return loader(source=path)
    except Exception as err:  # the SDK raises marshmallow, ValidationException and JobException alike
        raise SpecError(f"{path}: {loader_name} refused it: {err}") from err


def validate_tree(root: Path) -> dict[Path, Any]:
    """Validate every spec under `root`; raise one SpecError listing every failure."""
    entities: dict[Path, Any] = {}
    failures: list[str] = []
    for path in spec_files(root):
        try:
            entities[path] = validate_spec(path)
        except SpecError as err:
            failures.append(str(err))
    if failures:
        raise SpecError("\n".join(failures))
    if not entities:
        raise SpecError(f"{root}: no Azure ML specs found")
    return entities


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _missing_local_paths(document: Any, base: Path) -> list[str]:
    problems = []
    for node in _walk(document):
        for key in LOCAL_PATH_KEYS:
            value = node.get(key)
            if isinstance(value, str) and ":" not in value and not (base / value).exists():
                problems.append(f"{key}: {value!r} does not exist (relative to {base})")
    return problems


def _dangling_references(document: Any) -> list[str]:
    if not isinstance(document, Mapping):
        return []
    jobs = document.get("jobs") or {}
    problems = []
    for where, job in [("", document), *((f"jobs.{name}: ", job) for name, job in jobs.items())]:
        # A sweep's command is its trial's, and the trial declares what the command reads.
        trial = job.get("trial") if isinstance(job.get("trial"), Mapping) else None
        declares = trial or job
        for kind, name in _OWN_REFERENCE.findall(str(declares.get("command", ""))):
            if name not in (declares.get(kind) or {}):
                problems.append(f"{where}command uses {kind}.{name}, which is not declared under {kind}")
        if trial is not None:
            # The SDK drops a sweep input that its trial does not declare, without a word.
            for kind in ("inputs", "outputs"):
                problems += [
                    f"{where}binds {kind}.{name}, which its trial does not declare (Azure ML would drop it)"
                    for name in job.get(kind) or {}
                    if name not in (trial.get(kind) or {})
                ]
        bindings = str(job.get("inputs") or "") + str(job.get("outputs") or "")
        for name in _PARENT_INPUT.findall(bindings):
            if name not in (document.get("inputs") or {}):
                problems.append(f"{where}binds parent.inputs.{name}, which the pipeline does not declare")
        for sibling, output in _SIBLING_OUTPUT.findall(bindings):
            if output not in ((jobs.get(sibling) or {}).get("outputs") or {}):
                problems.append(f"{where}binds parent.jobs.{sibling}.outputs.{output}, which does not exist")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("root", type=Path, nargs="?", default=Path("aml"))
    args = parser.parse_args(argv)

    def step() -> int:
        for path, entity in validate_tree(args.root).items():
            print(f"ok  {path}  ({type(entity).__name__})")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
