"""The subscriptions' retry policy, from Event Grid's documented retry schedule: 10 s, 30 s, 1 min, 5 min, 10 min,
30 min, 1 h, 3 h, 6 h, then every 12 hours up to 24 hours; an event is dead-lettered when it reaches either the
maximum number of attempts (1-30) or its time to live (1-1440 minutes), whichever comes first.
https://learn.microsoft.com/azure/event-grid/delivery-and-retry"""

from __future__ import annotations

import itertools
from datetime import timedelta

from infra.components.lifecycle_subscriptions import (
    EVENT_TTL_MINUTES,
    MAX_DELIVERY_ATTEMPTS,
    attempt_times,
    attempts_within,
)


def _at(attempt: int) -> timedelta:
    return timedelta(seconds=attempt_times(attempt)[-1])


def test_the_documented_schedule_puts_the_tenth_attempt_about_eleven_hours_in() -> None:
    # Why 10 attempts with a day's TTL was wrong: the 10th attempt ends delivery 10 h 47 min in, not a day.
    assert _at(10) == timedelta(hours=10, minutes=46, seconds=40)
    assert attempts_within(11 * 60) == 10


def test_attempts_and_time_to_live_agree() -> None:
    assert EVENT_TTL_MINUTES == 1440  # Event Grid's maximum
    assert 1 <= MAX_DELIVERY_ATTEMPTS <= 30
    ttl = timedelta(minutes=EVENT_TTL_MINUTES)
    # The last attempt the count allows falls inside the TTL, and one more would not: neither limit is idle.
    assert _at(MAX_DELIVERY_ATTEMPTS) < ttl <= _at(MAX_DELIVERY_ATTEMPTS + 1)
    assert MAX_DELIVERY_ATTEMPTS == 11
    assert _at(MAX_DELIVERY_ATTEMPTS) == timedelta(hours=22, minutes=46, seconds=40)


def test_the_schedule_repeats_every_twelve_hours_after_the_six_hour_wait() -> None:
    times = attempt_times(13)
    waits = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert waits == [10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 12 * 3600, 12 * 3600]
