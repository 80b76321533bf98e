"""The Functions adapter turns the trigger's EventGridEvent back into the documented schema the handler checks."""

from __future__ import annotations

import datetime
import importlib

import azure.functions as func
from lifecycle_handler.events import SUBSCRIBED_TYPES, parse_event

from infra.components.lifecycle_events import FUNCTION_NAME, SUBSCRIPTIONS
from tests.functions.conftest import DOCUMENTED_TOPIC, load


def _binding(event: dict) -> func.EventGridEvent:
    return func.EventGridEvent(
        id=event["id"],
        data=event["data"],
        topic=event["topic"],
        subject=event["subject"],
        event_type=event["eventType"],
        event_time=datetime.datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00")[:26] + "+00:00"),
        data_version=event["dataVersion"],
    )


def test_the_adapter_rebuilds_a_payload_the_handler_accepts() -> None:
    function_app = importlib.import_module("function_app")
    for fixture in (
        "model_registered.json",
        "model_deployed.json",
        "run_status_changed.json",
        "monitor_breach.json",
    ):
        documented = load(fixture)
        payload = function_app.event_payload(_binding(documented))
        parsed = parse_event(payload, expected_topic=DOCUMENTED_TOPIC)
        assert parsed.envelope.id == documented["id"]
        assert payload["data"] == documented["data"]


def test_the_app_registers_one_event_grid_function_under_the_subscribed_name() -> None:
    function_app = importlib.import_module("function_app")
    functions = function_app.app.get_functions()
    # The name the Event Grid subscriptions deliver to, and the types they subscribe to, match the handler.
    assert [f.get_function_name() for f in functions] == [FUNCTION_NAME]
    assert {t for types, _ in SUBSCRIPTIONS.values() for t in types} == set(SUBSCRIBED_TYPES)
    assert [b.type for b in functions[0].get_bindings()] == ["eventGridTrigger"]
