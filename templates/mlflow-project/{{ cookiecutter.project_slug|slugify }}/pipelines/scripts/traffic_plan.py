"""Pure planning for blue/green releases on a managed online endpoint: colours, steps and splits.

No Azure here: these functions turn the endpoint's current traffic and the requested steps into the exact
sequence of traffic splits that `blue_green` applies, so the plan is tested without any fake.
"""

import itertools
from collections.abc import Mapping

from pipelines.scripts.errors import InvalidArgumentError

COLOURS = ("blue", "green")


def parse_traffic_steps(text: str) -> tuple[int, ...]:
    """Parse `--traffic-steps` such as `10,50,100`: integers in 1..100, strictly increasing, ending at 100."""
    try:
        steps = tuple(int(part) for part in text.split(","))
    except ValueError:
        msg = f"--traffic-steps {text!r} must be comma-separated integers such as 10,50,100"
        raise InvalidArgumentError(msg) from None
    if any(not 1 <= step <= 100 for step in steps):
        msg = f"--traffic-steps {text!r}: every step must be within 1..100"
        raise InvalidArgumentError(msg)
    if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
        msg = f"--traffic-steps {text!r} must increase strictly"
        raise InvalidArgumentError(msg)
    if steps[-1] != 100:
        msg = f"--traffic-steps {text!r} must end at 100 so the new colour takes all traffic"
        raise InvalidArgumentError(msg)
    return steps


def live_deployment(traffic: Mapping[str, int]) -> str | None:
    """The deployment serving the most traffic, or None when nothing serves (a new endpoint)."""
    serving = {name: percent for name, percent in traffic.items() if percent > 0}
    if not serving:
        return None
    # Sorted first so a tie (50/50 left by a manual change) always resolves the same way.
    return max(sorted(serving), key=lambda name: serving[name])


def idle_colour(live: str | None) -> str:
    """The colour to deploy to: the one not serving. A non-colour live deployment is replaced by blue."""
    return "green" if live == "blue" else "blue"


def split_plan(before: Mapping[str, int], new: str, steps: tuple[int, ...]) -> list[dict[str, int]]:
    """The traffic splits to apply in order: `new` takes each step's share from the live deployment.

    Every other deployment (a stale colour, a mirror) is pinned to 0 so each split sums to 100. With no live
    deployment there is nothing to shift from: the plan is a single split giving `new` 100%.
    """
    live = live_deployment(before)
    if live is None:
        return [{new: 100}]
    others = {name: 0 for name in before if name not in (new, live)}
    return [{**others, live: 100 - step, new: step} for step in steps]
