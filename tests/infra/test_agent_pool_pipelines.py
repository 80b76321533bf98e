"""infra.yml and the job templates with the private profile's agent pool.

infra.yml names each private stack's pool exactly as the stack derives it (infra/naming.py), runs every job that
touches a private stack's data plane there, keeps previews and the public profile on Microsoft-hosted agents, and
brings the pool (and only what it depends on) up to date from Microsoft-hosted agents first. The pipeline is
expanded as Azure DevOps would; the bootstrap targets are matched against the real program's plan.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.plan.engine import run_program
from infra.plan.scenarios import SCENARIOS
from pipelines.validation.documents import PIPELINES_ROOT, load
from pipelines.validation.expressions import evaluate
from pipelines.validation.templates import expand
from tests.infra.conftest import REPO, agent_pool_name
from tests.support.azure_twin.from_plan import urn

PRIVATE_STACKS = ("staging", "prod")
POOL = "azure-native:devopsinfrastructure:Pool"


def _expanded_stages() -> dict[str, dict[str, Any]]:
    body = expand(load(PIPELINES_ROOT / "infra.yml"), superset=False).body
    return {stage["stage"]: stage for stage in body["stages"]}


def _jobs(stage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job.get("job") or job.get("deployment"): job for job in stage["jobs"]}


def _pulumi_env(job: dict[str, Any]) -> dict[str, str]:
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    (step,) = [s for s in steps if s.get("task") == "AzureCLI@2" and "PULUMI_COMMAND" in s.get("env", {})]
    return step["env"]


def test_infra_yml_names_each_private_stacks_pool_as_the_stack_derives_it() -> None:
    parameters = {p["name"]: p["default"] for p in load(PIPELINES_ROOT / "infra.yml").data["parameters"]}
    for stack in PRIVATE_STACKS:
        assert parameters[f"pool{stack.title()}"] == {"name": agent_pool_name(stack)}, stack
    assert parameters["poolDev"] == {"vmImage": "ubuntu-24.04"}


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stacks_update_their_pool_from_hosted_agents_then_deploy_and_publish_on_it(
    stack: str,
) -> None:
    stages = _expanded_stages()
    pool = {"name": agent_pool_name(stack)}
    deploy = _jobs(stages[f"Deploy_{stack}"])
    bootstrap, up = deploy[f"agents_{stack}"], deploy[f"up_{stack}"]
    # Between the two, the GitHub runner job's image and key, on the pool (tests/infra/test_runner_prerequisites.py).
    assert list(deploy) == [f"agents_{stack}", f"runner_{stack}", f"up_{stack}"]
    # ARM control-plane calls work from Microsoft-hosted agents: the pool exists before any job needs it.
    assert bootstrap["pool"] == {"vmImage": "ubuntu-24.04"} and bootstrap["environment"] == f"mlops-{stack}"
    assert _pulumi_env(bootstrap)["PULUMI_COMMAND"] == "up" and _pulumi_env(bootstrap)["TARGETS"]
    # The whole stack (Databricks provider calls included) from inside the VNet.
    assert up["pool"] == pool and up["dependsOn"] == f"runner_{stack}"
    assert deploy[f"runner_{stack}"]["dependsOn"] == f"agents_{stack}"
    assert _pulumi_env(up)["TARGETS"] == ""
    publish = _jobs(stages[f"Publish_{stack}"])
    assert publish[f"lifecycle_publish_{stack}"]["pool"] == pool
    # Reading a stack output needs ARM and the state backend only.
    assert publish[f"lifecycle_package_{stack}"]["pool"] == {"vmImage": "ubuntu-24.04"}


def test_dev_and_pull_request_previews_stay_on_hosted_agents() -> None:
    stages = _expanded_stages()
    assert [job["pool"] for job in stages["Preview"]["jobs"]] == [{"vmImage": "ubuntu-24.04"}] * 3
    assert list(_jobs(stages["Deploy_dev"])) == ["up_dev"]
    assert _jobs(stages["Deploy_dev"])["up_dev"]["pool"] == {"vmImage": "ubuntu-24.04"}


def _matches(pattern: str, urn: str) -> bool:
    assert "*" not in pattern.replace("**", ""), "only '**' globs are used"
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("**")), urn) is not None


def test_the_bootstrap_targets_hold_the_pool_and_all_it_depends_on_and_no_data_plane_call() -> None:
    """`pulumi up --target` fails on a targeted resource whose dependency is neither targeted nor already in the
    stack (the first deploy): the targets must be closed under dependencies."""
    (bootstrap,) = [
        job for name, job in _jobs(_expanded_stages()["Deploy_prod"]).items() if name == "agents_prod"
    ]
    patterns = _pulumi_env(bootstrap)["TARGETS"].split(";")
    # prod with Databricks on: its provider calls the workspace API, which answers only inside the VNet.
    scenario = SCENARIOS["prod-databricks"]
    plan = run_program("prod", scenario.config(REPO))
    targeted = {r.name for r in plan.resources if any(_matches(p, urn(plan, r)) for p in patterns)}
    assert plan.one(POOL).name in targeted
    # The agents' only way out (agentEgress: firewall): the firewall, its rules and their default route.
    assert {
        r.name for r in plan.resources if r.type.startswith("azure-native:network:") and "egress" in r.name
    } <= targeted
    assert plan.one("azure-native:network:Route").name in targeted
    by_name = {r.name: r for r in plan.resources}
    for name in targeted:
        missing = set(by_name[name].dependencies) - targeted
        assert missing == set(), f"{name} depends on untargeted {missing}"
        # A child of an untargeted new component cannot be created either.
        assert by_name[name].parent in targeted | {None}, f"{name}'s parent is not targeted"
    assert not [n for n in targeted if not by_name[n].type.startswith(("azure-native:", "azure-mlops:"))]
    assert not {"workspace", "databricks", "lifecycle"} & {n.split("-")[0] for n in targeted}


def test_the_expander_evaluates_length_as_azure_pipelines_does() -> None:
    """pulumi-deploy.yml adds the bootstrap job only when `length(parameters.bootstrapTargets)` is not 0;
    length() counts a string's characters or an array's items
    (https://learn.microsoft.com/azure/devops/pipelines/process/expressions#length)."""
    assert evaluate("ne(length(parameters.t), 0)", {"parameters": {"t": []}}) is False
    assert evaluate("ne(length(parameters.t), 0)", {"parameters": {"t": ["urn:a", "urn:b"]}}) is True
    assert evaluate("length('abc')", {}) == 3


def _jobs_in(node: Any) -> list[dict[str, Any]]:
    """Every job or deployment job declared in a template's YAML, also inside `${{ if }}` blocks."""
    if isinstance(node, list):
        return [job for item in node for job in _jobs_in(item)]
    if isinstance(node, dict):
        own = [node] if "job" in node or "deployment" in node else []
        return own + [job for value in node.values() for job in _jobs_in(value)]
    return []


def test_every_job_template_takes_a_pool_and_runs_every_job_on_a_pool_parameter() -> None:
    """A private stack's jobs must be able to run on its pool: no job template may pin Microsoft-hosted agents."""
    templates = sorted((PIPELINES_ROOT / "templates" / "jobs").glob("*.yml"))
    assert len(templates) >= 8
    for path in templates:
        data = load(path).data
        parameters = {p["name"]: p for p in data["parameters"]}
        assert parameters["pool"]["type"] == "object", path.name
        jobs = _jobs_in(data["jobs"])
        assert jobs, path.name
        for job in jobs:
            assert job["pool"] in ("${{ parameters.pool }}", "${{ parameters.bootstrapPool }}"), path.name
