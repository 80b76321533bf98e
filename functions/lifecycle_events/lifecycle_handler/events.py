"""The Event Grid event schema and the `data` of each Azure ML event the handler subscribes to.

Event Grid writes each event, in the Event Grid schema, as one message into the handler's storage queue;
the Functions host base64-decodes it, so the handler receives the event's JSON as bytes (a single event
object, not an array). decode_message turns that body into the dict the models below validate.

Shapes follow "Azure Machine Learning as an Event Grid source"
(https://learn.microsoft.com/azure/event-grid/event-schema-machine-learning): model events use PascalCase
data keys, run events camelCase, and ModelVersion is a number in the example but a string in the
property table, so both are accepted. Unknown fields are ignored (Microsoft's advice for handlers), but
every field the handler relies on is required and typed.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from lifecycle_handler.errors import InvalidEvent

MODEL_REGISTERED = "Microsoft.MachineLearningServices.ModelRegistered"
MODEL_DEPLOYED = "Microsoft.MachineLearningServices.ModelDeployed"
RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
SUBSCRIBED_TYPES = (MODEL_REGISTERED, MODEL_DEPLOYED, RUN_STATUS_CHANGED)
"""The event types infra/components/lifecycle_events.py subscribes the handler to."""

MONITOR_BREACH_TAG = "azureml_modelmonitor_threshold_breached"
"""Run tag that Azure ML model monitoring sets on a monitoring run whose signal breached its threshold."""
MONITOR_BREACH_TEXT = "has failed due to one or more features violating metric thresholds"
"""What the monitor-breach subscription requires the tag to contain (infra's MONITOR_BREACH_TEXT; a test checks
they agree, functions/ never imports infra)."""

WORKSPACE_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+",
    re.IGNORECASE,
)
"""An Azure ML workspace's resource ID. Resource IDs compare without regard to case (resource-name-rules): the
same workspace may be spelled `resourcegroups` or `RG-ML` by one service and `resourceGroups`/`rg-ml` by another."""
EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""What an event ID must be: the rule the generated CD (.azure-pipelines/cd.yml) checks `triggeringEventId`
against, and a valid Table RowKey (no / \\ # ? or control characters); Event Grid IDs are GUIDs."""


def _text(value: Any) -> Any:
    """Numbers arrive where the schema says string (ModelVersion): keep them as text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _tags(value: Any) -> Any:
    """Tag and property maps may be null or hold non-string values: normalise to str -> str."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else ("" if v is None else str(v)) for k, v in value.items()}
    return value


Text = Annotated[str, BeforeValidator(_text)]
Tags = Annotated[dict[str, str], BeforeValidator(_tags)]
NonEmpty = Annotated[str, Field(min_length=1, max_length=1024)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ModelRegisteredData(_Data):
    model_name: NonEmpty = Field(alias="ModelName")
    model_version: Annotated[Text, Field(min_length=1, max_length=64)] = Field(alias="ModelVersion")
    model_tags: Tags = Field(default_factory=dict, alias="ModelTags")
    model_properties: Tags = Field(default_factory=dict, alias="ModelProperties")


class ModelDeployedData(_Data):
    service_name: NonEmpty = Field(alias="ServiceName")
    service_compute_type: str = Field(default="", alias="ServiceComputeType")
    model_ids: str = Field(default="", alias="ModelIds")
    """Comma-separated `name:version` of the models the endpoint serves."""
    service_tags: Tags = Field(default_factory=dict, alias="ServiceTags")
    service_properties: Tags = Field(default_factory=dict, alias="ServiceProperties")

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.model_ids.split(",") if m.strip())


class RunStatusChangedData(_Data):
    experiment_id: str = Field(default="", alias="experimentId")
    experiment_name: str = Field(default="", alias="experimentName")
    run_id: NonEmpty = Field(alias="runId")
    run_type: str | None = Field(default=None, alias="runType")
    run_tags: Tags = Field(default_factory=dict, alias="runTags")
    run_properties: Tags = Field(default_factory=dict, alias="runProperties")
    run_status: NonEmpty = Field(alias="runStatus")

    @property
    def breach(self) -> str | None:
        """The monitor's breach message when this is a monitoring run that breached a threshold.

        The monitor-breach subscription's rule, as Event Grid applies it: the tag's key and the text it must
        contain both compare without regard to case (event-filtering). Anything Event Grid would deliver as a
        breach is a breach here, so a breach never reaches the team as a plain failed run.
        """
        for key, value in self.run_tags.items():
            if key.lower() == MONITOR_BREACH_TAG and MONITOR_BREACH_TEXT in value.lower():
                return value
        return None


class EventGridEvent(BaseModel):
    """One event in the Event Grid schema (the schema the subscriptions deliver)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    id: Annotated[str, Field(min_length=1, max_length=128, pattern=f"^{EVENT_ID.pattern}$")]
    topic: Annotated[str, Field(min_length=1, max_length=1024)]
    subject: NonEmpty
    event_type: Literal[MODEL_REGISTERED, MODEL_DEPLOYED, RUN_STATUS_CHANGED] = Field(alias="eventType")  # type: ignore[valid-type]
    event_time: datetime = Field(alias="eventTime")
    data: dict[str, Any]
    data_version: str = Field(default="", alias="dataVersion")

    @field_validator("topic")
    @classmethod
    def _a_workspace(cls, topic: str) -> str:
        # Not Field(pattern=...): pydantic's pattern engine drops re.IGNORECASE, and resource IDs are
        # case-insensitive, so a correctly cased-differently topic would be rejected and lost.
        if not WORKSPACE_ID.fullmatch(topic):
            msg = "must be an Azure ML workspace resource ID (/subscriptions/.../workspaces/<name>)"
            raise ValueError(msg)
        return topic


AmlData = ModelRegisteredData | ModelDeployedData | RunStatusChangedData
_DATA_MODELS: dict[str, type[_Data]] = {
    MODEL_REGISTERED: ModelRegisteredData,
    MODEL_DEPLOYED: ModelDeployedData,
    RUN_STATUS_CHANGED: RunStatusChangedData,
}


class LifecycleEvent(BaseModel):
    """A validated event: the envelope and its typed data."""

    model_config = ConfigDict(frozen=True)

    envelope: EventGridEvent
    data: AmlData
    digest: str = ""
    """SHA-256 of the event's canonical JSON: tells a redelivery from another event reusing the ID."""


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "(event)"
    return f"{location}: {first['msg']} (got {str(first.get('input'))[:80]!r})"


def decode_message(body: Any) -> Any:
    """A queue message body (UTF-8 JSON, as bytes or text) decoded; anything else is returned unchanged.

    Raises InvalidEvent when the bytes are not UTF-8 or the text is not JSON; parse_event checks the rest
    (that the JSON is an object, and a subscribed event).
    """
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as err:
            msg = f"queue message is not UTF-8: {err}"
            raise InvalidEvent(msg) from err
    if isinstance(body, str):
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as err:
            msg = f"queue message is not JSON: {err}"
            raise InvalidEvent(msg) from err
    return body


def parse_event(raw: Any, *, expected_topic: str | None = None) -> LifecycleEvent:
    """Validate one event: the queue message's body (bytes or text) or the already-decoded dict.

    Raises InvalidEvent naming the first bad field, the value and the rule.
    """
    raw = decode_message(raw)
    if not isinstance(raw, dict):
        msg = f"event must be a JSON object, got {type(raw).__name__}"
        raise InvalidEvent(msg)
    event_type = raw.get("eventType")
    if event_type not in SUBSCRIBED_TYPES:
        msg = f"eventType {event_type!r} is not one of the subscribed types {list(SUBSCRIBED_TYPES)}"
        raise InvalidEvent(msg, event_id=str(raw.get("id", "")))
    try:
        envelope = EventGridEvent.model_validate(raw)
        data = _DATA_MODELS[envelope.event_type].model_validate(envelope.data)
    except ValidationError as err:
        raise InvalidEvent(_first_problem(err), event_id=str(raw.get("id", ""))) from err
    # Several subscriptions (or a misconfigured one) may point at the handler: act only on our workspace.
    if expected_topic and envelope.topic.lower() != expected_topic.lower():
        msg = f"topic {envelope.topic!r} is not this stack's workspace {expected_topic!r}"
        raise InvalidEvent(msg, event_id=envelope.id)
    expected_subject = _subject_of(data)
    if not _same_subject(envelope.subject, expected_subject):
        msg = (
            f"subject {envelope.subject[:200]!r} does not name what the event's data does "
            f"({expected_subject}): the subject is relative to the topic's workspace"
        )
        raise InvalidEvent(msg, event_id=envelope.id)
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    return LifecycleEvent(envelope=envelope, data=data, digest=digest)  # type: ignore[arg-type]


def _subject_of(data: _Data) -> str:
    """The subject Azure ML gives the event, relative to the topic (event-schema-machine-learning)."""
    if isinstance(data, ModelRegisteredData):
        return f"models/{data.model_name}:{data.model_version}"
    if isinstance(data, ModelDeployedData):
        return f"endpoints/{data.service_name}"
    assert isinstance(data, RunStatusChangedData)
    return f"experiments/{data.experiment_id or '<experiment>'}/runs/{data.run_id}"


def _same_subject(subject: str, expected: str) -> bool:
    if not expected.startswith("experiments/"):
        return subject == expected
    # A run's subject names its experiment by ID; the data may omit experimentId (then any one segment).
    prefix, _, run = expected.partition("/runs/")
    got_prefix, _, got_run = subject.partition("/runs/")
    if got_run != run or got_prefix.count("/") != 1 or not got_prefix.startswith("experiments/"):
        return False
    return prefix.endswith("<experiment>") or got_prefix == prefix
