"""`python -m infra.plan --stack dev`: the offline plan of a stack (`make plan STACK=dev`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from infra.errors import AzureMlopsError
from infra.plan.artifacts import discard_artifacts, write_artifacts
from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID, cycle_collection_paused, run_program
from infra.plan.report import print_plan
from infra.plan.scenarios import SCENARIOS
from infra.plan.stack_files import load_stack_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.plan",
        description="Run the stack program under Pulumi's mock engine: no Azure account, no Pulumi CLI.",
    )
    parser.add_argument(
        "--stack",
        required=True,
        help=f"stack name (reads Pulumi.<stack>.yaml) or a scenario: {sorted(SCENARIOS)}",
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="folder holding Pulumi.yaml")
    parser.add_argument("--out", type=Path, default=Path("build/plan"), help="output folder")
    parser.add_argument(
        "--subscription-id", default=DEFAULT_SUBSCRIPTION_ID, help="subscription the names are derived for"
    )
    args = parser.parse_args(argv)
    # Writing the artifacts would otherwise trigger a full collection over everything the run left behind.
    with cycle_collection_paused():
        return _plan(args)


def _plan(args: argparse.Namespace) -> int:
    console = Console()
    discard_artifacts(args.out, args.stack)
    try:
        scenario = SCENARIOS.get(args.stack)
        config = scenario.config(args.root) if scenario else load_stack_config(args.root, args.stack)
        plan = run_program(args.stack, config, subscription_id=args.subscription_id)
        artifacts = write_artifacts(plan, args.out)
    except AzureMlopsError as err:
        console.print(
            f"[bold red]plan of stack {escape(repr(args.stack))} failed[/]\n{escape(str(err))}",
            highlight=False,
        )
        return 1
    print_plan(plan, artifacts.folder, console)
    estimate = artifacts.cost
    console.print(
        f"[bold]cost[/] ({estimate.region}, list prices): idle {estimate.idle:,.2f} USD/month, full scale "
        f"{estimate.full:,.2f} USD/month; unpriced: {len(estimate.unpriced)}; details in "
        f"{escape(str(artifacts.folder / 'cost.md'))}"
    )
    console.print(
        f"wrote {escape(str(artifacts.folder / 'template.json'))} "
        f"(ARM model, {len(artifacts.template['resources'])} resources, "
        f"{len(plan.waivers)} checkov skips) and {escape(str(artifacts.folder / 'architecture.md'))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
