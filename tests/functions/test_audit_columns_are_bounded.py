"""Every audit column is bounded and valid, whatever the event carries: Table storage refuses a String property
over 64 KiB and an entity over 1 MiB (Understanding the Table service data model,
https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model), and a refused
write would send the message to the poison queue, never audited. Property-based on the pure helpers, then the
worst event written for real to Azurite's table service."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from azure.core.credentials import AzureNamedKeyCredential
from azure.data.tables import TableClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lifecycle_handler import columns
from lifecycle_handler.audit import AuditRecord, TableAuditStore
from lifecycle_handler.decisions import decide
from lifecycle_handler.events import parse_event
from lifecycle_handler.handler import handle

from tests.functions.conftest import DOCUMENTED_TOPIC, Boundary, FakeClock, load, settings
from tests.support.azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

UNSAFE = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0))]
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)
"""Any code point, lone surrogates and control characters included (what json.loads can produce)."""


def _entity_bytes(entity: dict[str, Any]) -> int:
    """An upper bound of the entity's stored size: 2 bytes per UTF-16 unit of keys, names and strings, 8 per
    datetime, plus per-property overhead (the data model page's accounting, rounded up)."""
    size = 4
    for name, value in entity.items():
        size += 8 + 2 * len(name)
        size += 2 * columns.utf16_units(value) + 4 if isinstance(value, str) else 8
    return size


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    value=ANY_TEXT | st.text(min_size=2000, max_size=3000), units=st.integers(min_value=16, max_value=2048)
)
def test_a_text_column_is_clean_and_within_its_budget(value: str, units: int) -> None:
    out = columns.text(value, units)
    assert columns.utf16_units(out) <= units
    assert not any(ch in out for ch in UNSAFE)
    out.encode("utf-8")  # no unpaired surrogate: it always encodes
    if columns.utf16_units(columns.clean(value)) <= units:
        assert out == columns.clean(value)
    else:
        assert out.endswith(columns.CUT_MARK)


@hypothesis_settings(max_examples=80, deadline=None)
@given(
    tags=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=20)
    | st.dictionaries(st.text(max_size=50), st.text(min_size=1000, max_size=4000), min_size=1, max_size=40)
)
def test_the_tags_column_is_always_json_and_within_its_budget(tags: dict[str, str]) -> None:
    out = columns.tags_json(tags)
    assert columns.utf16_units(out) <= columns.TAGS_UNITS
    parsed = json.loads(out)  # never cut into invalid JSON
    assert isinstance(parsed, dict) and all(isinstance(v, str) for v in parsed.values())
    cleaned = dict(sorted((columns.clean(k), columns.clean(v)) for k, v in tags.items()))
    if columns.utf16_units(json.dumps(cleaned)) <= 4000:
        assert parsed == cleaned  # what fits is kept whole


def _worst_event() -> dict[str, Any]:
    """A breach whose every free-text field is oversized and full of control characters and lone surrogates."""
    event = load("monitor_breach.json")
    noise = "\x00\x07\x1b\x7f\u0085\ud800 " + "é" * 40_000
    tags = {f"tag-{i}\x01{noise[:2000]}": noise for i in range(40)}
    event["data"]["runTags"].update(tags)
    event["data"]["experimentName"] = noise
    run = "run-" + "r" * 900  # the longest a subject (1,024 characters) leaves room for
    event["data"]["runId"] = run
    event["subject"] = f"experiments/{event['data']['experimentId']}/runs/{run}"
    return event


def test_the_worst_event_makes_an_entity_table_storage_accepts(boundary: Boundary) -> None:
    outcome = handle(_worst_event(), settings(), boundary.deps)
    assert outcome.status == "handled"
    (entity,) = boundary.audit.records.values()
    strings = {k: v for k, v in entity.items() if isinstance(v, str)}
    assert max(columns.utf16_units(v) for v in strings.values()) * 2 <= columns.STRING_LIMIT_BYTES
    assert _entity_bytes(entity) < columns.ENTITY_LIMIT_BYTES
    assert not any(ch in v for v in strings.values() for ch in UNSAFE)
    json.loads(entity["Tags"])
    assert "…cut" in json.loads(entity["Tags"]) or any(
        v.endswith("…[cut]") for v in json.loads(entity["Tags"]).values()
    )


def test_the_worst_event_is_written_and_read_back_on_azurite(azurite: Azurite) -> None:
    client = TableClient(
        endpoint=azurite.endpoint("table"),
        table_name="auditworst",
        credential=AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
    )
    client.create_table()
    try:
        event = parse_event(_worst_event(), expected_topic=DOCUMENTED_TOPIC)
        record = AuditRecord.of(event, decide(event), claimed_at=FakeClock()())
        store = TableAuditStore.connect(
            azurite.endpoint("table"), "auditworst", AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY)
        )
        assert store.create_if_absent(record) is True
        store.complete(record, "audited; notification failed: " + "\x00" * 10 + "x" * 20_000)
        stored = client.get_entity(record.partition_key, record.row_key)
        assert stored["Tags"] == record.tags_json and json.loads(stored["Tags"])
        assert stored["Status"] == "completed"
        assert stored["Outcome"].endswith(columns.CUT_MARK) and "\x00" not in stored["Outcome"]
        assert isinstance(stored["ClaimedAt"], datetime)
    finally:
        client.delete_table()
        client.close()
