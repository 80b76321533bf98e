"""What the handler does with each accepted event, decided from the event alone (pure, no I/O).

Every accepted event is audited. A model monitor threshold breach queues the retraining pipeline (whose
own gates decide whether the new model is promoted) and notifies the team; any other failed or canceled
run notifies the team; registrations and deployments are audited only. The decision depends on the
event's content, not on the subscription that delivered it, so the breach that both the run-failed and
the monitor-breach subscriptions deliver is handled once.
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

# Tag keys that answer "who, from which commit, through which pipeline run, approved by whom".
PROVENANCE_TAGS: dict[str, tuple[str, ...]] = {
    "git_commit": ("git_commit", "gitCommit", "mlflow.source.git.commit", "commit"),
    "pipeline_run": ("pipeline_run_id", "pipelineRunId", "build_id", "Build.BuildId"),
    "approver": ("approved_by", "approver", "approvedBy"),
}


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
    def partition(self) -> str:
        """The audit record's partition: queries by endpoint, model or run stay within one partition."""
        if self.endpoint:
            return f"endpoint:{self.endpoint}"
        if self.kind is Kind.MONITOR_BREACH:
            return f"monitor:{self.model_name or 'unknown-model'}"
        if self.model_name:
            return f"model:{self.model_name}"
        return "run"


def _provenance(tags: dict[str, str]) -> dict[str, str]:
    found = {}
    for name, keys in PROVENANCE_TAGS.items():
        value = next((tags[k] for k in keys if tags.get(k)), "")
        if value:
            found[name] = value
    return found


def _model_of_run(data: RunStatusChangedData) -> str:
    return next((data.run_tags[k] for k in MODEL_NAME_TAGS if data.run_tags.get(k)), "")


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
        signal = _SIGNAL.search(data.breach)
        model = _model_of_run(data)
        return Decision(
            Kind.MONITOR_BREACH,
            (Action.AUDIT, Action.RETRAIN, Action.NOTIFY),
            f"monitor signal {signal.group(1) if signal else '(unnamed)'} breached its threshold in run "
            f"{data.run_id}",
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
