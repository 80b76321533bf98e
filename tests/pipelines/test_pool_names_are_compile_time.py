"""ml.yml names each stack's agent pool at compile time, from template parameters whose defaults are the pools the
stacks derive (infra/naming.py), never from a variable group.

Microsoft documents a macro variable in `pool:` only for a job's own variables (a matrix's, on the YAML schema's
strategy page: https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/jobs-job-strategy), and pool
selection by parameter, expanded when the run is compiled
(https://learn.microsoft.com/azure/devops/pipelines/process/runtime-parameters); no page says a variable group's
variable can name the pool of a job, let alone a deployment job's. So the pipelines use the documented form.
"""

from __future__ import annotations

from typing import Any

from pipelines.scripts import stack_variables
from pipelines.validation.documents import PIPELINES_ROOT, load
from pipelines.validation.templates import expand
from tests.infra.conftest import agent_pool_name, config_of

ML = PIPELINES_ROOT / "ml.yml"
SHARING_JOBS = {"register_model"}
"""The job that shares into the Azure ML registry: it runs in the registry owner's VNet."""


def _pool_of(stack: str) -> dict[str, str]:
    """What a stack's jobs must run on: its Managed DevOps Pool when private, Microsoft-hosted agents when public."""
    return {"name": agent_pool_name(stack)} if config_of(stack).is_private else {"vmImage": "ubuntu-24.04"}


def test_the_pool_parameters_default_to_the_pools_the_stacks_derive() -> None:
    parameters = {p["name"]: p for p in load(ML).data["parameters"]}
    for stack in ("dev", "staging", "prod"):
        pool = parameters[f"pool{stack.title()}"]
        assert pool["type"] == "object" and pool["default"] == _pool_of(stack), stack
    (owner,) = [stack for stack in ("dev", "staging", "prod") if config_of(stack).create_aml_registry]
    assert parameters["poolRegistry"]["default"] == _pool_of(owner)


def _stage_jobs() -> list[tuple[str, str, Any]]:
    """(stack of the stage's variable group, job name, pool) of every expanded job that touches a stack, in every
    conditional branch (the batch scoring stage included)."""
    body = expand(load(ML), superset=True).body
    found = []
    for stage in body["stages"]:
        groups = [v["group"] for v in stage.get("variables") or [] if isinstance(v, dict) and "group" in v]
        stacks = [
            g.removeprefix(stack_variables.GROUP_PREFIX)
            for g in groups
            if g.startswith(stack_variables.GROUP_PREFIX)
        ]
        for stack in stacks:
            found += [
                (stack, job.get("job") or job.get("deployment"), job.get("pool")) for job in stage["jobs"]
            ]
    return found


def test_every_job_that_touches_a_stack_runs_on_that_stacks_pool_named_at_compile_time() -> None:
    """A private stack's workspace answers only inside its VNet, where its Managed DevOps Pool runs; the name is a
    literal once the template is expanded: nothing is left for queue time."""
    jobs = _stage_jobs()
    assert {stack for stack, _, _ in jobs} == {"dev", "staging", "prod"}
    assert {name for _, name, _ in jobs} >= SHARING_JOBS
    (owner,) = [stack for stack in ("dev", "staging", "prod") if config_of(stack).create_aml_registry]
    for stack, name, pool in jobs:
        wanted = _pool_of(owner) if name in SHARING_JOBS else _pool_of(stack)
        assert pool == wanted, f"{stack}/{name}: {pool}"
        assert "$(" not in str(pool)
    assert "AML_AGENT_POOL" not in ML.read_text()
