"""The handler's boundary, the event: a corpus of bad events, each refused with one line naming the field and the
rule, with nothing written and nothing sent; and, property-based, that no event crashes it and no accepted event
slips through unchecked. The audit store and the senders are the faked cloud boundary."""

from __future__ import annotations

import copy
import logging
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lifecycle_handler.decisions import MODEL_NAME, MODEL_NAME_LENGTH, decide
from lifecycle_handler.events import EVENT_ID, parse_event
from lifecycle_handler.handler import handle

from tests.functions.conftest import (
    DOCUMENTED_TOPIC,
    Boundary,
    FakeAuditStore,
    FakeSender,
    FakeToken,
    load,
    settings,
)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "templates" / "mlflow-project"
BREACH = "monitor_breach.json"


def _set(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    target = changed
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    target[last] = value
    return changed


# (fixture, field path, bad value, what the refusal must name)
CORPUS = [
    ("model_registered.json", "id", "", "id"),
    ("model_registered.json", "id", "-starts-with-a-hyphen", "id"),
    ("model_registered.json", "id", "a" * 129, "id"),
    ("model_registered.json", "id", "slash/in/id", "id"),
    ("model_registered.json", "id", "ctrl\x00char", "id"),
    ("model_registered.json", "topic", "/subscriptions/x/resourceGroups/y", "topic"),
    ("model_registered.json", "topic", DOCUMENTED_TOPIC + "/models/m", "topic"),
    ("model_registered.json", "topic", 42, "topic"),
    ("model_registered.json", "eventTime", "yesterday", "eventTime"),
    ("model_registered.json", "eventType", "Microsoft.MachineLearningServices.DatasetDriftDetected", "eventType"),
    ("model_registered.json", "data", "not an object", "data"),
    ("model_registered.json", "data.ModelName", "", "ModelName"),
    ("model_registered.json", "data.ModelName", ["a", "list"], "ModelName"),
    ("model_registered.json", "data.ModelVersion", "", "ModelVersion"),
    ("model_registered.json", "data.ModelTags", "not a map", "ModelTags"),
    ("model_registered.json", "subject", "models/another-model:20", "subject"),
    ("model_registered.json", "subject", DOCUMENTED_TOPIC.replace("{workspace-name}", "other") + "/models/x:1", "subject"),
    ("model_deployed.json", "subject", "endpoints/someone-elses-endpoint", "subject"),
    ("model_deployed.json", "data.ServiceName", "x" * 1025, "ServiceName"),
    ("run_status_changed.json", "subject", "experiments/0fa9dfaa-cba3-4fa7-b590-23e48548f5c1/runs/another-run", "subject"),
    ("run_status_changed.json", "subject", "experiments/other-experiment/runs/AutoML_ad912b2d-6467-4f32-a616-dbe4af6dd8fc_5", "subject"),
    # checkov:skip=CKV_SECRET_6: an Azure ML run ID (a GUID) in a forged event subject, not a secret
    ("run_status_changed.json", "subject", "workspaces/other/experiments/e/runs/AutoML_ad912b2d-6467-4f32-a616-dbe4af6dd8fc_5", "subject"),
    ("run_status_changed.json", "data.runStatus", None, "runStatus"),
    ("run_status_changed.json", "data.runTags", ["not", "a", "map"], "runTags"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fixture", "path", "value", "named"), CORPUS, ids=[f"{c[1]}={str(c[2])[:20]!r}" for c in CORPUS]
)
def test_each_bad_event_is_refused_naming_the_field_with_nothing_written_or_sent(
    fixture: str, path: str, value: Any, named: str, boundary: Boundary, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="lifecycle_handler"):
        outcome = handle(_set(load(fixture), path, value), settings(), boundary.deps)
    assert outcome.status == "rejected"
    assert named in outcome.detail
    assert boundary.audit.records == {} and boundary.sender.sent == [] and boundary.token.scopes == []
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # one line, no stack


@pytest.mark.parametrize(
    "body",
    [b"", b"\xff\xfe", b"[1, 2]", b"null", b"42", b'"text"', b"{", b"[" * 100_000, "\ud800".encode("utf-8", "surrogatepass")],
    ids=["empty", "not-utf8", "array", "null", "number", "string", "truncated", "deeply-nested", "lone-surrogate"],
)  # fmt: skip
def test_bodies_that_are_not_an_event_object_are_refused(body: bytes, boundary: Boundary) -> None:
    outcome = handle(body, settings(), boundary.deps)
    assert outcome.status == "rejected"
    assert boundary.audit.records == {} and boundary.sender.sent == []


@pytest.mark.parametrize(
    "spelling",
    [
        str.lower,
        str.upper,
        lambda t: t.replace("resourceGroups", "resourcegroups").replace("Microsoft.", "MICROSOFT."),
    ],
    ids=["lower", "upper", "mixed"],
)
def test_a_topic_in_other_letter_case_is_this_workspace(spelling: Any, boundary: Boundary) -> None:
    """Resource and resource group names are case-insensitive; compare them without regard to case:
    https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules. pydantic's `pattern`
    drops re.IGNORECASE, so the handler checks the topic itself: a correct event must not be refused and lost."""
    event = _set(load(BREACH), "topic", spelling(DOCUMENTED_TOPIC))
    outcome = handle(event, settings(), boundary.deps)
    assert outcome.status == "handled"
    assert sum("dev.azure.com" in r.url for r in boundary.sender.sent) == 1


def test_the_same_event_id_with_other_content_is_a_duplicate(
    boundary: Boundary, caplog: pytest.LogCaptureFixture
) -> None:
    first = handle(load(BREACH), settings(), boundary.deps)
    other = load(BREACH)
    other["data"]["runTags"]["model_name"] = "another-model"
    with caplog.at_level(logging.WARNING, logger="lifecycle_handler"):
        second = handle(other, settings(), boundary.deps)
    assert (first.status, second.status) == ("handled", "duplicate")
    assert "same event ID, other content" in second.detail
    assert sum("dev.azure.com" in r.url for r in boundary.sender.sent) == 1
    (record,) = boundary.audit.records.values()
    assert record["ModelName"] == "credit-default"  # the first content is kept
    assert any("other content" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "model",
    [
        "Credit-Default",
        "credit_default",
        "cd",
        "x" * 51,
        "credit--default",
        "-credit",
        "$(System.AccessToken)",
    ],
)
def test_a_model_name_the_template_refuses_is_not_sent_to_the_pipeline(
    model: str, boundary: Boundary
) -> None:
    event = _set(load(BREACH), "data.runTags.model_name", model)
    outcome = handle(event, settings(), boundary.deps)
    assert outcome.status == "handled"
    assert not [r for r in boundary.sender.sent if "dev.azure.com" in r.url]
    assert (
        "retraining not queued" in outcome.decision.reason
        and "3-50 lower-case letters" in outcome.decision.reason
    )
    (notification,) = boundary.sender.sent  # the team still hears of the breach
    assert notification.url.startswith("https://contoso.webhook.office.com/")


def _template_rule(name: str) -> Any:
    sys.path.insert(0, str(TEMPLATE / "hooks"))
    try:
        from project_hooks.answers import PATTERN_RULES
    finally:
        sys.path.remove(str(TEMPLATE / "hooks"))
    return PATTERN_RULES[name]


def test_the_model_name_rule_is_the_templates_slug_rule() -> None:
    """The generated CD refuses a modelName other than its project's slug: what the handler sends must be one."""
    slug = _template_rule("project_slug")
    assert slug.pattern.pattern == MODEL_NAME.pattern
    assert (slug.min_length, slug.max_length) == MODEL_NAME_LENGTH


def test_the_event_id_rule_is_the_generated_cds_triggering_event_check() -> None:
    (cd,) = TEMPLATE.glob("*/.azure-pipelines/cd.yml")
    (checked,) = re.findall(r'"\$\{EVENT_ID\}" =~ \^(.+?)\$ \]\]', cd.read_text(encoding="utf-8"))
    assert checked == EVENT_ID.pattern


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["id", "topic", "subject", "eventType", "eventTime", "data", "data.runId", "data.runStatus", "data.runTags", "data.experimentId"]  # fmt: skip


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=JSON)
def test_no_value_in_any_field_crashes_the_handler_or_slips_through(field: str, value: Any) -> None:
    boundary = Boundary(FakeAuditStore(), FakeSender(), FakeToken())
    event = load("run_status_changed.json")
    if field.startswith("data.") and not isinstance(event.get("data"), dict):
        return
    outcome = handle(_set(event, field, value), settings(), boundary.deps)
    assert outcome.status in {"rejected", "handled"}
    if outcome.status == "rejected":
        assert boundary.audit.records == {} and boundary.sender.sent == []
        return
    # Accepted: then it was a valid event of this workspace, and its subject names its run.
    parsed = parse_event(_set(event, field, value), expected_topic=DOCUMENTED_TOPIC)
    assert EVENT_ID.fullmatch(parsed.envelope.id)
    assert parsed.envelope.subject.endswith(f"/runs/{parsed.data.run_id}")
    assert decide(parsed).kind.value in {"run-failed", "run-status"}
