"""What an Azure ML YAML spec refers to: computes, environments, datastores, data assets and models.

The twin resolves each reference the way the service does when the spec is submitted; `load_*` of azure-ai-ml
checks the YAML's shape offline but not that the names it refers to exist, which is what this adds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_DATASTORE_URI = re.compile(r"^azureml://datastores/(?P<name>[^/]+)/paths/")
_REGISTRY_ASSET = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/(?P<kind>models|environments|data)/(?P<name>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+)|/labels/(?P<label>[^/]+))?$"
)
_WORKSPACE_ASSET = re.compile(r"^azureml:(?P<name>[^:@/]+)(?::(?P<version>[^:@]+)|@(?P<label>[^:@]+))?$")
_JOB_OUTPUT = re.compile(r"^azureml://jobs/(?P<job>[^/]+)/outputs/(?P<output>[^/]+)")
CURATED_REGISTRY = "azureml"
"""Microsoft's registry of curated environments and models, present in every cloud."""


@dataclass(frozen=True)
class Reference:
    """One name a spec points at."""

    kind: str
    """compute | environment | datastore | data | model | job-output"""
    name: str
    version: str | None = None
    registry: str | None = None
    where: str = ""


def load_spec(path: Path, overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The YAML at `path` with dotted-path overrides applied (as `az ml ... --set` does)."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for dotted, value in (overrides or {}).items():
        node = spec
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return spec


def asset(value: str, kind: str, where: str) -> Reference | None:
    """The asset an `azureml:` or `azureml://registries/` string names, None for anything else (inline, local)."""
    if match := _REGISTRY_ASSET.match(value):
        singular = {"models": "model", "environments": "environment", "data": "data"}[match["kind"]]
        return Reference(
            singular, match["name"], match["version"] or match["label"], match["registry"], where
        )
    if value.startswith("azureml://"):
        return None
    if match := _WORKSPACE_ASSET.match(value):
        return Reference(kind, match["name"], match["version"] or match["label"], None, where)
    return None


def _input_references(inputs: Mapping[str, Any], where: str) -> Iterator[Reference]:
    for name, value in (inputs or {}).items():
        path = value.get("path") if isinstance(value, dict) else value
        if not isinstance(path, str):
            continue
        if match := _DATASTORE_URI.match(path):
            yield Reference("datastore", match["name"], where=f"{where}.inputs.{name}")
        elif match := _JOB_OUTPUT.match(path):
            yield Reference("job-output", match["job"], match["output"], where=f"{where}.inputs.{name}")
        elif isinstance(value, dict) and (ref := asset(path, "data", f"{where}.inputs.{name}")):
            yield ref


def job_references(spec: Mapping[str, Any], where: str = "job") -> Iterator[Reference]:
    """Every reference of a job spec; a pipeline job's child jobs inherit `settings.default_compute`."""
    default_compute = (spec.get("settings") or {}).get("default_compute")
    yield from _job_references(spec, where, default_compute)


def _job_references(spec: Mapping[str, Any], where: str, default_compute: str | None) -> Iterator[Reference]:
    compute = spec.get("compute") or (default_compute if spec.get("type", "command") != "pipeline" else None)
    if isinstance(compute, str) and compute != "serverless":
        yield Reference("compute", compute.removeprefix("azureml:"), where=f"{where}.compute")
    environment = spec.get("environment")
    if isinstance(environment, str) and (ref := asset(environment, "environment", f"{where}.environment")):
        yield ref
    # A sweep step's trials run its trial's environment, on the step's compute.
    trial = spec.get("trial")
    trial_environment = trial.get("environment") if isinstance(trial, dict) else None
    if isinstance(trial_environment, str) and (
        ref := asset(trial_environment, "environment", f"{where}.trial.environment")
    ):
        yield ref
    yield from _input_references(spec.get("inputs") or {}, where)
    for name, child in (spec.get("jobs") or {}).items():
        if isinstance(child, dict):
            yield from _job_references(child, f"{where}.jobs.{name}", default_compute)


def deployment_references(spec: Mapping[str, Any], model: str | None, where: str) -> Iterator[Reference]:
    """The model (the `model` argument wins over the spec's), environment and compute of a deployment."""
    chosen = model or spec.get("model")
    if isinstance(chosen, str) and (ref := asset(chosen, "model", f"{where}.model")):
        yield ref
    environment = spec.get("environment")
    if isinstance(environment, str) and (ref := asset(environment, "environment", f"{where}.environment")):
        yield ref
    compute = spec.get("compute")
    if isinstance(compute, str):
        yield Reference("compute", compute.removeprefix("azureml:"), where=f"{where}.compute")


def sweep_concurrency(spec: Mapping[str, Any]) -> dict[str, int]:
    """Sweep step -> its `limits.max_concurrent_trials`; ValueError naming the step when that is not a whole
    number of at least 1 (an unresolved `$(VARIABLE)` included), which Azure ML refuses."""
    found: dict[str, int] = {}
    for name, step in (spec.get("jobs") or {}).items():
        if not isinstance(step, dict) or step.get("type") != "sweep":
            continue
        value = (step.get("limits") or {}).get("max_concurrent_trials")
        text = str(value)
        if not text.isdigit() or int(text) < 1:
            msg = f"jobs.{name}.limits.max_concurrent_trials = {value!r}: must be an integer of at least 1"
            raise ValueError(msg)
        found[name] = int(text)
    return found


def job_outputs(spec: Mapping[str, Any]) -> list[str]:
    """The named outputs a job produces (a pipeline job: its own outputs)."""
    return sorted((spec.get("outputs") or {}).keys())


REGISTERED_OUTPUT = "registered"
"""A generated project's training pipeline output: its `register` step registers the model (MLflow) and writes
which version there (aml/pipeline.yml)."""


def registered_model(spec: Mapping[str, Any], experiment: str | None) -> str | None:
    """The model a pipeline job registers itself: a generated project's training pipeline (it has the
    `registered` output) registers the model named as its experiment (aml/pipeline.yml: the project slug)."""
    if spec.get("type") != "pipeline" or REGISTERED_OUTPUT not in (spec.get("outputs") or {}):
        return None
    return str(experiment or spec.get("experiment_name") or "") or None
