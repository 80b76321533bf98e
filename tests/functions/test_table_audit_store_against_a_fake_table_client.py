"""TableAuditStore against a faked azure-data-tables TableClient (the Azure SDK client is the boundary).

The fake answers as the SDK does (azure-data-tables 12.7, the pinned version): create_entity raises
azure.core's ResourceExistsError for an existing entity (409 EntityAlreadyExists); get_entity returns a
dict whose `metadata` holds the ETag; update_entity with an ETag and MatchConditions.IfNotModified raises
ResourceModifiedError, an HttpResponseError of status 412 (UpdateConditionNotSatisfied), when the entity
changed since that ETag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError
from lifecycle_handler.audit import CLAIM_TIMEOUT, COMPLETED, PENDING, AuditRecord, TableAuditStore
from lifecycle_handler.decisions import decide
from lifecycle_handler.errors import EventInProgress
from lifecycle_handler.events import parse_event
from lifecycle_handler.handler import Dependencies, handle

from tests.functions.conftest import DOCUMENTED_TOPIC, FakeClock, FakeSender, FakeToken, load, settings


class _Entity(dict[str, Any]):
    """What TableClient.get_entity returns: the properties, and the ETag in `metadata`."""

    def __init__(self, properties: dict[str, Any], etag: str) -> None:
        super().__init__(properties)
        self.metadata = {"etag": etag, "timestamp": None}


def _precondition_failed(error_type: type[HttpResponseError]) -> HttpResponseError:
    error = error_type(message="The update condition specified in the request was not satisfied.")
    error.status_code = 412
    return error


@dataclass
class FakeTableClient:
    entities: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    etags: dict[tuple[str, str], str] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    modified_error: type[HttpResponseError] = ResourceModifiedError
    version: int = 0

    def _write(self, key: tuple[str, str], entity: dict[str, Any]) -> None:
        self.version += 1
        self.entities[key] = entity
        self.etags[key] = f"W/\"datetime'2026-03-02T09%3A30%3A00.{self.version:07d}Z'\""

    def create_entity(self, entity: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("create_entity", dict(entity), kwargs))
        key = (entity["PartitionKey"], entity["RowKey"])
        if key in self.entities:
            raise ResourceExistsError(message="The specified entity already exists.")
        self._write(key, dict(entity))
        return {"etag": self.etags[key]}

    def get_entity(self, partition_key: str, row_key: str, **kwargs: Any) -> _Entity:
        self.calls.append(("get_entity", {"PartitionKey": partition_key, "RowKey": row_key}, kwargs))
        key = (partition_key, row_key)
        stored = self.entities[key]
        selected = {k: v for k, v in stored.items() if k in kwargs.get("select", stored)}
        return _Entity(selected, self.etags[key])

    def update_entity(self, entity: dict[str, Any], mode: Any = "merge", **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("update_entity", dict(entity), {"mode": mode, **kwargs}))
        assert mode == "merge"  # UpdateMode.MERGE's value; a merge keeps the other columns
        key = (entity["PartitionKey"], entity["RowKey"])
        if (
            kwargs.get("match_condition") == MatchConditions.IfNotModified
            and kwargs["etag"] != self.etags[key]
        ):
            raise _precondition_failed(self.modified_error)
        self._write(key, self.entities[key] | entity)
        return {"etag": self.etags[key]}


def _deps(table: FakeTableClient, clock: FakeClock, sender: FakeSender | None = None) -> Dependencies:
    return Dependencies(
        audit=TableAuditStore(table), send=sender or FakeSender(), token=FakeToken(), now=clock
    )


def test_the_first_delivery_creates_the_entity_claimed_records_each_action_and_completes_it() -> None:
    table, clock = FakeTableClient(), FakeClock()
    outcome = handle(load("monitor_breach.json"), settings(), _deps(table, clock))
    assert outcome.status == "handled"
    calls = [(c[0], sorted(set(c[1]) - {"PartitionKey", "RowKey"})) for c in table.calls]
    assert calls[1:] == [
        ("update_entity", ["RetrainRun", "RetrainRunUrl"]),  # the queued run, before the notification
        ("update_entity", ["Notification"]),
        ("update_entity", ["Outcome", "Status"]),
    ]
    created = table.calls[0][1]
    assert (created["Status"], created["ClaimedAt"]) == (PENDING, clock())
    assert created["RowKey"] == outcome.event_id
    (stored,) = table.entities.values()
    assert stored["Status"] == COMPLETED and stored["ClaimedAt"] == clock()
    assert stored["RetrainRun"] == "1234"


def test_an_existing_entity_maps_resource_exists_error_to_false() -> None:
    table, clock = FakeTableClient(), FakeClock()
    handle(load("monitor_breach.json"), settings(), _deps(table, clock))
    store = TableAuditStore(table)
    ((pk, rk),) = table.entities
    assert store.create_if_absent(_record(clock)) is False
    assert table.entities[(pk, rk)]["Status"] == COMPLETED  # unchanged
    claim = store.read_claim(pk, rk)
    assert (claim.status, claim.claimed_at, claim.etag) == (COMPLETED, clock(), table.etags[(pk, rk)])
    assert set(table.calls[-1][2]["select"]) >= {"Status", "ClaimedAt"}


def _record(clock: FakeClock) -> AuditRecord:
    event = parse_event(load("monitor_breach.json"), expected_topic=DOCUMENTED_TOPIC)
    return AuditRecord.of(event, decide(event), claimed_at=clock())


def test_a_fresh_claim_on_the_table_stops_the_second_delivery() -> None:
    table, clock = FakeTableClient(), FakeClock()
    sender = FakeSender(fail_with=RuntimeError("instance died"))
    with pytest.raises(RuntimeError):
        handle(load("monitor_breach.json"), settings(), _deps(table, clock, sender))
    clock.advance(timedelta(minutes=3))
    with pytest.raises(EventInProgress):
        handle(load("monitor_breach.json"), settings(), _deps(table, clock))
    assert "update_entity" not in [c[0] for c in table.calls]


def test_the_take_over_updates_claimed_at_with_the_etag_and_if_not_modified() -> None:
    table, clock = FakeTableClient(), FakeClock()
    started = clock()
    sender = FakeSender(fail_with=RuntimeError("instance died"))
    with pytest.raises(RuntimeError):
        handle(load("monitor_breach.json"), settings(), _deps(table, clock, sender))
    ((key, _),) = table.entities.items()
    etag_read = table.etags[key]
    clock.advance(CLAIM_TIMEOUT)
    sender = FakeSender()
    outcome = handle(load("monitor_breach.json"), settings(), _deps(table, clock, sender))
    assert outcome.status == "handled" and sum("dev.azure.com" in r.url for r in sender.sent) == 1
    _, entity, kwargs = next(c for c in table.calls if c[0] == "update_entity")
    assert entity == {"PartitionKey": key[0], "RowKey": key[1], "ClaimedAt": started + CLAIM_TIMEOUT}
    assert kwargs == {"mode": "merge", "etag": etag_read, "match_condition": MatchConditions.IfNotModified}
    assert table.entities[key]["Status"] == COMPLETED


@pytest.mark.parametrize(
    "error_type", [ResourceModifiedError, HttpResponseError], ids=["sdk-mapped", "bare-412"]
)
def test_a_412_on_take_over_is_a_lost_race(error_type: type[HttpResponseError]) -> None:
    table = FakeTableClient(modified_error=error_type)
    store = TableAuditStore(table)
    key = ("pk", "event-1")
    table._write(key, {"PartitionKey": "pk", "RowKey": "event-1", "Status": PENDING})
    mine, rivals = store.read_claim(*key), store.read_claim(*key)
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert store.take_over(rivals, now) is True
    assert store.take_over(mine, now) is False
    assert mine.claimed_at is None  # no ClaimedAt: written before the claim existed, so abandoned


def test_other_table_errors_on_take_over_are_not_swallowed() -> None:
    class _Throttled(FakeTableClient):
        def update_entity(self, entity: dict[str, Any], mode: Any = "merge", **kwargs: Any) -> dict[str, Any]:
            error = HttpResponseError(message="Server busy")
            error.status_code = 503
            raise error

    table = _Throttled()
    table._write(("pk", "e"), {"PartitionKey": "pk", "RowKey": "e", "Status": PENDING})
    store = TableAuditStore(table)
    with pytest.raises(HttpResponseError, match="Server busy"):
        store.take_over(store.read_claim("pk", "e"), datetime(2026, 3, 2, tzinfo=UTC))
    assert "ClaimedAt" not in table.entities[("pk", "e")]


def test_claimed_at_written_as_iso_text_reads_back_as_utc() -> None:
    table = FakeTableClient()
    table._write(("pk", "e"), {"PartitionKey": "pk", "RowKey": "e", "ClaimedAt": "2026-03-02T09:30:00Z"})
    claim = TableAuditStore(table).read_claim("pk", "e")
    assert claim.claimed_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert claim.status == PENDING
