"""What the handler does with each accepted event, decided from the event alone (pure, no I/O).

Every accepted event is audited. A model monitor threshold breach queues the retraining pipeline (whose
own gates decide whether the new model is promoted) and notifies the team; any other failed or canceled
run notifies the team; registrations and deployments are audited only. The decision depends on the
event's content, not on the subscription that delivered it, so the breach that both the run-failed and
the monitor-breach subscriptions deliver is handled once.

Provenance comes from the tags the generated project writes (templates/mlflow-project/<slug>/src/<package>/
governance.py): GOVERNANCE_TAGS below is the handler's one copy of those names, and
tests/functions/test_handler_agrees_with_the_template.py fails when the two drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from lifecycle_handler.events import (
    LifecycleEvent,
    ModelDeployedData,
    ModelRegisteredData,
    RunStatusChangedData,
)

FAILED_STATUSES = frozenset({"failed", "canceled", "cancelled"})
MODEL_NAME_TAGS = ("model_name", "modelName", "azureml.model_name")
"""Run tags naming the monitored model; the project template's monitor schedules set `model_name`."""
_SIGNAL = re.compile(r"The signal '([^']+)'")

GOVERNANCE_TAGS: dict[str, str] = {
    "git_commit": "governance.git_commit",
    "pipeline_run": "governance.pipeline_run",
    "training_job": "governance.training_job",
    "data_version": "governance.data_version",
    "approver": "governance.approved_by",
    "approved_at": "governance.approved_at",
    "triggering_event": "governance.triggering_event",
    "reference_data": "governance.reference_data",
}
"""Provenance field -> the model version tag the generated project writes: the constants GIT_COMMIT,
PIPELINE_RUN, TRAINING_JOB, DATA_VERSION, APPROVED_BY, APPROVED_AT, TRIGGERING_EVENT and REFERENCE_DATA of
templates/mlflow-project/{{ cookiecutter.project_slug|slugify }}/src/{{ cookiecutter.package_name }}/governance.py.
`register` writes the first four and TRIGGERING_EVENT, `promote` the approval and the reference data."""

RUN_TAGS: dict[str, str] = {
    "git_commit": "mlflow.source.git.commit",
    "triggering_event": "triggering_event_id",
}
"""Where a run (rather than a model version) carries the same facts: MLflow tags a run with the commit it ran
from, and the generated CD (.azure-pipelines/cd.yml, `tags.triggering_event_id`) tags the Azure ML training
job it submits for a breach, so a retraining run that fails is audited with the breach that queued it."""

PROVENANCE_TAGS: dict[str, tuple[str, ...]] = {
    name: (tag, *((RUN_TAGS[name],) if name in RUN_TAGS else ())) for name, tag in GOVERNANCE_TAGS.items()
}
"""Provenance field -> the tags that answer it, first match wins: the governance tag, then the run's."""

MODEL_NAME = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*")
MODEL_NAME_LENGTH = (3, 50)
MODEL_NAME_RULE = (
    "3-50 lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen"
)
"""The `modelName` a retraining run may carry: a generated project registers its model as its slug (the template's
project_slug rule, templates/mlflow-project/hooks/project_hooks/answers.py), and its CD refuses any other name, so
a name outside this rule could only queue a run that fails (tests/functions/test_handler_refuses_bad_input.py
checks the two rules agree)."""

TEMPLATE_MONITOR_SIGNAL = re.compile(r"^(?P<model>[a-z][a-z0-9-]*)-monitor_(?P<signal>.+)$")
"""A breached signal of a generated project's monitor. Azure ML names the signal in the breach message
`<monitor name>_<signal name>` (how-to-monitor-model-performance, "Integrate ... with Event Grid"); the template
names its monitor `<project slug>-monitor` (aml/monitoring.yml) and registers its model as the slug. A slug
holds lower-case letters, digits and hyphens only, so the first `-monitor_` ends it."""


class Action(StrEnum):
    AUDIT = "audit"
    RETRAIN = "retrain"
    NOTIFY = "notify"


class Kind(StrEnum):
    MODEL_REGISTERED = "model-registered"
    MODEL_DEPLOYED = "model-deployed"
    MONITOR_BREACH = "monitor-breach"
    RUN_FAILED = "run-failed"
    RUN_STATUS = "run-status"


@dataclass(frozen=True)
class Decision:
    """The handler's verdict on one event and the facts its actions and audit record need."""

    kind: Kind
    actions: tuple[Action, ...]
    reason: str
    model_name: str = ""
    model_version: str = ""
    endpoint: str = ""
    run_id: str = ""
    provenance: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The notification's title: one per kind, so a breach is never announced as a failed run."""
        return {
            Kind.MONITOR_BREACH: "Model monitor threshold breached",
            Kind.RUN_FAILED: "Azure ML run failed",
        }.get(self.kind, "Azure ML lifecycle event")


def _provenance(tags: dict[str, str]) -> dict[str, str]:
    found = {}
    for name, keys in PROVENANCE_TAGS.items():
        value = next((tags[k] for k in keys if tags.get(k)), "")
        if value:
            found[name] = value
    return found


def _model_of_breach(data: RunStatusChangedData, signal: str) -> str:
    """The run's `model_name` tag; without one, the model a generated project's monitor is named after."""
    tagged = next((data.run_tags[k] for k in MODEL_NAME_TAGS if data.run_tags.get(k)), "")
    if tagged:
        return tagged
    template_monitor = TEMPLATE_MONITOR_SIGNAL.match(signal)
    return template_monitor.group("model") if template_monitor else ""


def model_name_problem(name: str) -> str:
    """Why `name` cannot be sent as a retraining run's modelName ("" when it can)."""
    low, high = MODEL_NAME_LENGTH
    if low <= len(name) <= high and MODEL_NAME.fullmatch(name):
        return ""
    return f"model name {name[:80]!r} is not one a generated project registers ({MODEL_NAME_RULE})"


def decide(event: LifecycleEvent) -> Decision:
    """The decision for a validated event."""
    data = event.data
    if isinstance(data, ModelRegisteredData):
        tags = {**data.model_properties, **data.model_tags}
        return Decision(
            Kind.MODEL_REGISTERED,
            (Action.AUDIT,),
            f"model {data.model_name}:{data.model_version} registered",
            model_name=data.model_name,
            model_version=data.model_version,
            provenance=_provenance(tags),
            tags=tags,
        )
    if isinstance(data, ModelDeployedData):
        tags = {**data.service_properties, **data.service_tags}
        first = data.models[0] if data.models else ""
        name, _, version = first.partition(":")
        return Decision(
            Kind.MODEL_DEPLOYED,
            (Action.AUDIT,),
            f"endpoint {data.service_name} now serves {', '.join(data.models) or 'no listed model'}",
            model_name=name,
            model_version=version,
            endpoint=data.service_name,
            provenance=_provenance(tags),
            tags=tags | {"model_ids": data.model_ids},
        )
    return _decide_run(data)


def _decide_run(data: RunStatusChangedData) -> Decision:
    common = {"run_id": data.run_id, "provenance": _provenance(data.run_tags), "tags": dict(data.run_tags)}
    if data.breach:
        found = _SIGNAL.search(data.breach)
        signal = found.group(1) if found else ""
        model = _model_of_breach(data, signal)
        reason = f"monitor signal {signal or '(unnamed)'} breached its threshold in run {data.run_id}"
        problem = model_name_problem(model) if model else ""
        if problem:
            # Queuing it would only start a run the project's CD refuses: audit and tell the team instead.
            return Decision(
                Kind.MONITOR_BREACH,
                (Action.AUDIT, Action.NOTIFY),
                f"{reason}; retraining not queued: {problem}",
                model_name=model,
                **common,  # type: ignore[arg-type]
            )
        return Decision(
            Kind.MONITOR_BREACH,
            (Action.AUDIT, Action.RETRAIN, Action.NOTIFY),
            reason,
            model_name=model,
            **common,  # type: ignore[arg-type]
        )
    if data.run_status.lower() in FAILED_STATUSES:
        return Decision(
            Kind.RUN_FAILED,
            (Action.AUDIT, Action.NOTIFY),
            f"run {data.run_id} of experiment {data.experiment_name or data.experiment_id} is {data.run_status}",
            **common,  # type: ignore[arg-type]
        )
    return Decision(
        Kind.RUN_STATUS,
        (Action.AUDIT,),
        f"run {data.run_id} is {data.run_status}",
        **common,  # type: ignore[arg-type]
    )
