"""Pure blue/green planning: step parsing, colour choice and traffic splits."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.scripts.errors import InvalidArgumentError
from pipelines.scripts.traffic_plan import idle_colour, live_deployment, parse_traffic_steps, split_plan


@pytest.mark.parametrize(
    ("text", "steps"), [("10,50,100", (10, 50, 100)), ("100", (100,)), ("1,2,100", (1, 2, 100))]
)
def test_parse_traffic_steps_accepts_increasing_steps_ending_at_100(text, steps):
    assert parse_traffic_steps(text) == steps


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("10,x,100", "comma-separated integers"),
        ("0,100", "within 1..100"),
        ("10,150", "within 1..100"),
        ("50,10,100", "increase strictly"),
        ("50,50,100", "increase strictly"),
        ("10,50", "must end at 100"),
    ],
)
def test_parse_traffic_steps_names_the_argument_and_the_rule(text, rule):
    with pytest.raises(InvalidArgumentError, match=rule) as err:
        parse_traffic_steps(text)
    assert f"--traffic-steps {text!r}" in str(err.value)


def test_live_deployment_is_the_one_with_most_traffic_and_none_for_an_empty_endpoint():
    assert live_deployment({"blue": 0, "green": 100}) == "green"
    assert live_deployment({"blue": 0}) is None
    assert live_deployment({"blue": 50, "green": 50}) == "blue"  # deterministic tie-break
    assert (idle_colour("blue"), idle_colour("green"), idle_colour(None), idle_colour("default")) == (
        "green",
        "blue",
        "blue",
        "blue",
    )


@given(
    steps=st.lists(st.integers(1, 99), unique=True, max_size=5).map(lambda s: (*sorted(s), 100)),
    stale=st.dictionaries(st.sampled_from(["mirror", "old"]), st.just(0), max_size=2),
)
def test_every_split_sums_to_100_and_ends_with_the_new_colour_at_100(steps, stale):
    before = {"blue": 100, **stale}
    plan = split_plan(before, "green", steps)
    assert [split["green"] for split in plan] == list(steps)
    assert all(sum(split.values()) == 100 for split in plan)
    assert plan[-1]["blue"] == 0
    assert all(split[name] == 0 for split in plan for name in stale)
