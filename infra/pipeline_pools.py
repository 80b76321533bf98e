"""The Azure Pipelines variables template that gives the pipelines each stack's derived values at compile time:
pipelines/azure-pipelines/templates/variables/pools.yml, generated from the committed stack files.

    python -m infra.pipeline_pools          # write the template (make pools)
    python -m infra.pipeline_pools --check  # exit 1 when the committed template is stale

A job's pool, and whether a job exists at all, have to be known when the run is compiled, and template expressions
see only variables defined in YAML, never a variable group's
(https://learn.microsoft.com/azure/devops/pipelines/process/template-expressions). What the pipelines need depends on
the stack files alone, so it is written here, once, for every committed stack: its agent pool and its registry
owner's (infra/naming.py `stack_agent_pool`), and the URN patterns of the infra pipeline's two targeted `pulumi up`s
(infra/agents_stack.py `agent_pool_bootstrap_targets`, infra/runner_bootstrap.py `runner_bootstrap_targets`).
`ml.yml` and `infra.yml` include the template, and each generated project's `cd.yml` includes it from this
repository (`template: ...pools.yml@platform`). A stack file change that changes any of these changes this file;
tests/pipelines/test_pool_names_are_compile_time.py fails until it is regenerated.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.agents_stack import agent_pool_bootstrap_targets
from infra.aml_registry import REPO_ROOT, committed_config
from infra.errors import InvalidStackConfig
from infra.naming import stack_agent_pool
from infra.plan.stack_files import available_stacks
from infra.runner_bootstrap import runner_bootstrap_targets
from pipelines.scripts.stack_variables import HOSTED_IMAGE

TEMPLATE = Path("pipelines") / "azure-pipelines" / "templates" / "variables" / "pools.yml"
"""Where the template lives, relative to the repository root (also the path `@platform` references use)."""
HOSTED_IMAGE_VARIABLE = "mlops_hosted_image"
"""The Microsoft-hosted image of the jobs of a public stack (`pool: vmImage:`)."""
_VARIABLE_SAFE = re.compile(r"[A-Za-z0-9_]+")


def pool_variable(stack: str) -> str:
    """The variable holding `stack`'s Managed DevOps Pool, empty for a public stack (Microsoft-hosted agents).

    >>> pool_variable("prod")
    'mlops_pool_prod'
    """
    return f"mlops_pool_{stack}"


def registry_pool_variable(stack: str) -> str:
    """The variable holding the pool of the registry owner `stack` promotes through (the job that shares a model
    runs there: a private registry answers only inside its owner's VNet), empty when that owner is public or the
    stack has no registry.

    >>> registry_pool_variable("dev")
    'mlops_registry_pool_dev'
    """
    return f"mlops_registry_pool_{stack}"


def bootstrap_targets_variable(stack: str) -> str:
    """The variable holding the URN patterns of `stack`'s agent pool bootstrap (infra.yml's agents_<stack> job),
    separated by spaces, empty when the stack has no pool.

    >>> bootstrap_targets_variable("prod")
    'mlops_bootstrap_targets_prod'
    """
    return f"mlops_bootstrap_targets_{stack}"


def runner_targets_variable(stack: str) -> str:
    """The variable holding the URN patterns of what `stack`'s GitHub runner job needs first (infra.yml's
    runner_<stack> job), separated by spaces, empty without container-apps runners.

    >>> runner_targets_variable("prod")
    'mlops_runner_targets_prod'
    """
    return f"mlops_runner_targets_{stack}"


@dataclass(frozen=True)
class StackPools:
    """Where one stack's jobs run and what its targeted deploys select, as the stack's own program derives it."""

    stack: str
    """Required. The stack (Pulumi.<stack>.yaml)."""
    pool: str
    """Required. Its Managed DevOps Pool (stack output agentPoolName), "" when public."""
    registry_pool: str
    """Required. Its registry owner's pool (stack output amlRegistryAgentPoolName), "" when none or public."""
    bootstrap_targets: tuple[str, ...]
    """Required. URN patterns of its pool's bootstrap (agent_pool_bootstrap_targets), () when it has no pool."""
    runner_targets: tuple[str, ...]
    """Required. URN patterns of its runner job's prerequisites (runner_bootstrap_targets), () without
    container-apps runners."""


def stack_pools(root: Path = REPO_ROOT) -> list[StackPools]:
    """Every committed stack under `root`, with its pool, its registry owner's pool and its deploy targets."""
    found = []
    for stack in available_stacks(root):
        if not _VARIABLE_SAFE.fullmatch(stack):
            msg = (
                f"stack {stack!r} (Pulumi.{stack}.yaml): its pools become the pipeline variables "
                f"{pool_variable(stack)!r}, so a committed stack's name must be letters, digits and _ only"
            )
            raise InvalidStackConfig(msg)
        config = committed_config(stack, root=root)
        owner = stack if config.create_aml_registry else config.aml_registry_owner_stack  # None: no registry
        registry_pool = "" if owner is None else stack_agent_pool(committed_config(owner, root=root))
        found.append(
            StackPools(
                stack,
                stack_agent_pool(config),
                registry_pool,
                agent_pool_bootstrap_targets(config, stack),
                runner_bootstrap_targets(config, stack),
            )
        )
    return found


def _targets_lines(name: str, patterns: Sequence[str]) -> list[str]:
    """One targets variable: a folded block scalar, one pattern a line, which YAML joins with single spaces. A
    variable is a string; templates/jobs/pulumi-deploy.yml turns it back into a list with `split(<value>, ' ')`. No pattern holds a space:
    a stack's name is letters, digits and _ only."""
    if not patterns:
        return [f"  - name: {name}", "    value: ''"]
    return [f"  - name: {name}", "    value: >-", *(f"      {pattern}" for pattern in patterns)]


def render(pools: Sequence[StackPools]) -> str:
    """The variables template's text."""
    lines = [
        "# Generated by `python -m infra.pipeline_pools` (make pools) from the committed Pulumi.<stack>.yaml files:",
        "# do not edit. Each stack's derived values, known at compile time (template expressions see YAML variables,",
        "# not variable groups): mlops_pool_<stack> is the stack's Managed DevOps Pool (stack output agentPoolName),",
        "# empty for a public stack, whose jobs run on Microsoft-hosted mlops_hosted_image; mlops_registry_pool_<stack>",
        "# is the pool of the registry owner that stack promotes through (output amlRegistryAgentPoolName);",
        "# mlops_bootstrap_targets_<stack> and mlops_runner_targets_<stack> are the URN patterns, separated by spaces, of",
        "# infra.yml's agents_<stack> and runner_<stack> jobs (`pulumi up --target`), empty when the stack has no pool",
        "# or no container-apps runners. Included by ml.yml and infra.yml and, from this repository",
        "# (resources.repositories), by every generated project's cd.yml.",
        "variables:",
        f"  - name: {HOSTED_IMAGE_VARIABLE}",
        f"    value: {HOSTED_IMAGE}",
    ]
    for entry in pools:
        for name, value in (
            (pool_variable(entry.stack), entry.pool),
            (registry_pool_variable(entry.stack), entry.registry_pool),
        ):
            lines += [f"  - name: {name}", f"    value: '{value}'"]
        lines += _targets_lines(bootstrap_targets_variable(entry.stack), entry.bootstrap_targets)
        lines += _targets_lines(runner_targets_variable(entry.stack), entry.runner_targets)
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (the stack files)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the template is stale, write nothing")
    args = parser.parse_args(argv)
    path = args.root / TEMPLATE
    text = render(stack_pools(args.root))
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if args.check:
        if current != text:
            print(f"{TEMPLATE} is stale: run `python -m infra.pipeline_pools` (make pools)", file=sys.stderr)
            return 1
        return 0
    if current != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {TEMPLATE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
