"""TableAuditStore and the handler on a real Azure Table: Azurite, the Azure Storage emulator, on loopback.

Nothing of the storage boundary is faked here: the store talks to the emulator through the azure-data-tables
version the function app ships with (TableAuditStore.connect, the development account's shared key in place
of the managed identity). ETags, 409s on create and 412s on a stale conditional merge are the emulator's.
Only Azure DevOps (FakeSender) and the clock are stand-ins.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.data.tables import TableClient
from lifecycle_handler.audit import CLAIM_TIMEOUT, COMPLETED, PENDING, AuditRecord, TableAuditStore
from lifecycle_handler.decisions import decide
from lifecycle_handler.errors import EventInProgress
from lifecycle_handler.events import parse_event
from lifecycle_handler.handler import Dependencies, handle
from lifecycle_handler.outbound import OutboundRequest

from tests.functions.conftest import DOCUMENTED_TOPIC, FakeClock, FakeSender, FakeToken, load, settings
from tests.support.azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

BREACH = "monitor_breach.json"


@pytest.fixture
def table(azurite: Azurite) -> Iterator[TableClient]:
    """A fresh audit table on the emulator, deleted afterwards."""
    name = f"audit{uuid.uuid4().hex[:20]}"
    client = TableClient(
        endpoint=azurite.endpoint("table"),
        table_name=name,
        credential=AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
    )
    client.create_table()
    yield client
    client.delete_table()
    client.close()


def _store(azurite: Azurite, table: TableClient) -> TableAuditStore:
    """The store as the function builds it, one per instance (its own client, its own connection)."""
    return TableAuditStore.connect(
        azurite.endpoint("table"), table.table_name, AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY)
    )


def _record(claimed_at: datetime) -> AuditRecord:
    event = parse_event(load(BREACH), expected_topic=DOCUMENTED_TOPIC)
    return AuditRecord.of(event, decide(event), claimed_at=claimed_at)


def test_create_if_absent_creates_once_then_reports_the_existing_record(
    azurite: Azurite, table: TableClient
) -> None:
    store, now = _store(azurite, table), FakeClock()()
    record = _record(now)
    assert store.create_if_absent(record) is True
    assert store.create_if_absent(_record(now + timedelta(minutes=1))) is False  # a real 409
    (stored,) = table.list_entities()
    assert stored["ClaimedAt"] == now  # the second create changed nothing


def test_every_column_of_the_record_round_trips_with_its_type(azurite: Azurite, table: TableClient) -> None:
    record = _record(FakeClock()())
    assert _store(azurite, table).create_if_absent(record)
    written = record.entity()
    stored = table.get_entity(record.partition_key, record.row_key)
    assert set(stored) == set(written)
    for column, value in written.items():
        assert stored[column] == value, column
        assert isinstance(stored[column], type(value)), (column, type(stored[column]))
    # Datetimes come back as timezone-aware datetimes (Edm.DateTime), not text.
    for column in ("EventTime", "ClaimedAt"):
        assert isinstance(stored[column], datetime) and stored[column].utcoffset() == timedelta(0)
    assert (
        stored["EventTime"] == parse_event(load(BREACH), expected_topic=DOCUMENTED_TOPIC).envelope.event_time
    )


def test_read_claim_returns_the_status_an_aware_claim_time_and_an_etag(
    azurite: Azurite, table: TableClient
) -> None:
    store, now = _store(azurite, table), FakeClock()()
    record = _record(now)
    store.create_if_absent(record)
    claim = store.read_claim(record.partition_key, record.row_key)
    assert (claim.partition_key, claim.row_key, claim.status) == (
        record.partition_key,
        record.row_key,
        PENDING,
    )
    assert claim.claimed_at == now and claim.claimed_at.tzinfo is not None
    assert claim.etag.startswith('W/"datetime') and claim.is_held(now)


def test_of_two_take_overs_with_one_etag_only_the_first_wins(azurite: Azurite, table: TableClient) -> None:
    # Two instances read the same abandoned version; each updates on its own connection.
    first_instance, second_instance = _store(azurite, table), _store(azurite, table)
    now = FakeClock()()
    record = _record(now)
    first_instance.create_if_absent(record)
    seen_by_first = first_instance.read_claim(record.partition_key, record.row_key)
    seen_by_second = second_instance.read_claim(record.partition_key, record.row_key)
    assert seen_by_first.etag == seen_by_second.etag
    later = now + CLAIM_TIMEOUT
    assert first_instance.take_over(seen_by_first, later) is True
    # The emulator answers the stale If-Match with 412, which the store maps to the lost race.
    assert second_instance.take_over(seen_by_second, later + timedelta(seconds=1)) is False
    after = first_instance.read_claim(record.partition_key, record.row_key)
    assert after.claimed_at == later and after.etag != seen_by_first.etag


def test_complete_sets_completed_and_the_outcome_and_keeps_the_rest(
    azurite: Azurite, table: TableClient
) -> None:
    store = _store(azurite, table)
    record = _record(FakeClock()())
    store.create_if_absent(record)
    store.complete(record, "retraining run 1234 queued")
    stored = table.get_entity(record.partition_key, record.row_key)
    assert (stored["Status"], stored["Outcome"]) == (COMPLETED, "retraining run 1234 queued")
    assert stored["ModelName"] == record.model_name and stored["ClaimedAt"] == record.claimed_at
    assert store.read_claim(record.partition_key, record.row_key).status == COMPLETED


class _SecondDeliveryWhileSending(FakeSender):
    """Azure DevOps, slow enough that the breach's second message is delivered while the first is acting."""

    def __init__(self, second: Any) -> None:
        super().__init__()
        self.second = second
        self.second_result: BaseException | Any = None

    def __call__(self, request: OutboundRequest) -> dict[str, Any]:
        if "dev.azure.com" in request.url and self.second is not None:
            second, self.second = self.second, None
            try:
                self.second_result = second()
            except EventInProgress as busy:
                self.second_result = busy
        return super().__call__(request)


def test_two_deliveries_of_a_breach_on_a_real_table_queue_retraining_once(
    azurite: Azurite, table: TableClient
) -> None:
    clock = FakeClock()

    def deliver(sender: FakeSender) -> Any:
        # Each delivery runs as its own instance would: its own store, client and connection.
        deps = Dependencies(audit=_store(azurite, table), send=sender, token=FakeToken(), now=clock)
        return handle(load(BREACH), settings(), deps)

    sender = _SecondDeliveryWhileSending(lambda: deliver(sender))
    first = deliver(sender)
    assert first.status == "handled"
    assert isinstance(sender.second_result, EventInProgress)
    assert sender.second_result.event_id == first.event_id
    assert sum("dev.azure.com" in r.url for r in sender.sent) == 1

    (stored,) = table.list_entities()
    assert stored["Status"] == COMPLETED and stored["Outcome"].startswith("retraining run 1234 queued")

    # The host retries the second message after visibilityTimeout: by then a duplicate.
    clock.advance(CLAIM_TIMEOUT + timedelta(seconds=1))
    redelivery = deliver(sender)
    assert redelivery.status == "duplicate"
    assert sum("dev.azure.com" in r.url for r in sender.sent) == 1
    assert len(list(table.list_entities())) == 1


def test_an_abandoned_attempt_on_a_real_table_is_taken_over_and_retried_once(
    azurite: Azurite, table: TableClient
) -> None:
    clock = FakeClock()
    crashing = FakeSender(fail_with=RuntimeError("worker process killed"))
    with pytest.raises(RuntimeError, match="killed"):
        handle(load(BREACH), settings(), Dependencies(_store(azurite, table), crashing, FakeToken(), clock))
    clock.advance(CLAIM_TIMEOUT)
    sender = FakeSender()
    retry = handle(load(BREACH), settings(), Dependencies(_store(azurite, table), sender, FakeToken(), clock))
    assert retry.status == "handled"
    assert sum("dev.azure.com" in r.url for r in sender.sent) == 1
    (stored,) = table.list_entities()
    assert stored["Status"] == COMPLETED and stored["ClaimedAt"] == clock()
