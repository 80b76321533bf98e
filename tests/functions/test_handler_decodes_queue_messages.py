"""Queue message bodies: the handler decodes UTF-8 JSON itself and rejects anything else in one clear line."""

from __future__ import annotations

import json
import logging

import pytest
from lifecycle_handler.handler import handle

from tests.functions.conftest import Boundary, FakeAuditStore, FakeSender, FakeToken, load, settings


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\xff\xfe\x00{", "queue message is not UTF-8"),
        (b"eyJpZCI6ICJ4In0=", "queue message is not JSON: Expecting value: line 1 column 1 (char 0)"),
        ("not json at all", "queue message is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"", "queue message is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (json.dumps([load("model_registered.json")]).encode(), "event must be a JSON object, got list"),
        (b'"Microsoft.MachineLearningServices.ModelRegistered"', "event must be a JSON object, got str"),
    ],
    ids=["not-utf-8", "still-base64", "not-json-text", "empty", "json-array", "json-string"],
)
def test_malformed_message_bodies_are_rejected_with_a_clear_detail_and_no_action(
    body: bytes | str, problem: str, boundary: Boundary, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        outcome = handle(body, settings(), boundary.deps)
    assert outcome.status == "rejected"
    assert outcome.detail.startswith(problem)
    assert outcome.decision is None and outcome.requests == ()
    assert boundary.audit.records == {} and boundary.sender.sent == [] and boundary.token.scopes == []
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert problem in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    "fixture",
    ["model_registered.json", "model_deployed.json", "run_status_changed.json", "monitor_breach.json"],
)
@pytest.mark.parametrize(
    "encode", [lambda e: json.dumps(e).encode("utf-8"), json.dumps], ids=["bytes", "text"]
)
def test_a_body_is_handled_exactly_like_the_decoded_event(fixture: str, encode: object) -> None:
    as_dict, as_body = (Boundary(FakeAuditStore(), FakeSender(), FakeToken()) for _ in range(2))
    expected = handle(load(fixture), settings(), as_dict.deps)
    actual = handle(encode(load(fixture)), settings(), as_body.deps)  # type: ignore[operator]
    assert actual == expected
    assert actual.status == "handled"
    assert as_body.sender.sent == as_dict.sender.sent
    assert as_body.audit.records == as_dict.audit.records


def test_a_non_ascii_body_is_decoded_as_utf_8(boundary: Boundary) -> None:
    event = load("model_registered.json")
    event["data"]["ModelTags"] = {"owner": "Zoë Müller"}
    outcome = handle(json.dumps(event, ensure_ascii=False).encode("utf-8"), settings(), boundary.deps)
    assert outcome.status == "handled"
    assert outcome.decision is not None and outcome.decision.tags["owner"] == "Zoë Müller"
