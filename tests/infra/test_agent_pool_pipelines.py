"""infra.yml and the job templates with the private profile's agent pool.

infra.yml takes each stack's pool and the URN patterns of its targeted deploys from the generated pools template
(infra/pipeline_pools.py, `make pools`), so they are what the stack files give (infra/naming.py,
infra/agents_stack.py): it runs every job that touches a private stack's data plane on the stack's pool, keeps
previews and the public profile on Microsoft-hosted agents, and brings the pool (and only what it depends on) up to
date from Microsoft-hosted agents first. The pipeline is expanded as Azure DevOps would; the bootstrap targets are
matched against the real program's plan; edited copies of the stack files show that a stack switched to the public
profile or off container-apps runners changes the compiled pipeline through `make pools` alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from infra import pipeline_pools
from infra.agents_stack import agent_pool_bootstrap_targets
from infra.config import parse_stack_config, project_config_values
from infra.plan.engine import run_program
from infra.plan.scenarios import SCENARIOS
from infra.runner_bootstrap import runner_bootstrap_targets
from pipelines.validation.documents import PIPELINES_ROOT, Document, load
from pipelines.validation.expressions import evaluate
from pipelines.validation.templates import expand
from tests.infra.conftest import REPO, agent_pool_name, config_of, stack_config
from tests.support.azure_twin.from_plan import urn
from tests.support.pipeline_copy import copy_with_stack_changes

STACKS = ("dev", "staging", "prod")
PRIVATE_STACKS = ("staging", "prod")
POOL = "azure-native:devopsinfrastructure:Pool"
RUNNERS_OFF = {
    "githubRunners": "none",
    "githubRunnerUrl": None,
    "githubAppId": None,
    "githubAppInstallationId": None,
}
"""A private stack's file switched to `githubRunners: none` (the runner settings it no longer takes go with it)."""
PUBLIC = {
    "networkProfile": "public",
    "agentPoolOrganizationUrl": None,
    "agentPoolProjects": None,
    "devOpsInfrastructurePrincipalId": None,
    **RUNNERS_OFF,
}
"""A private stack's file switched to the public profile (the pool and runner settings it no longer takes go too)."""


def _expanded_stages(pipelines: Path = PIPELINES_ROOT) -> dict[str, dict[str, Any]]:
    expansion = expand(load(pipelines / "infra.yml"), superset=False)
    assert expansion.unresolved == [] and expansion.findings == [], expansion.findings
    return {stage["stage"]: stage for stage in expansion.body["stages"]}


def _jobs(stage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job.get("job") or job.get("deployment"): job for job in stage["jobs"]}


def _pulumi_env(job: dict[str, Any]) -> dict[str, str]:
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    (step,) = [s for s in steps if s.get("task") == "AzureCLI@2" and "PULUMI_COMMAND" in s.get("env", {})]
    return step["env"]


def _targets(job: dict[str, Any]) -> list[str]:
    """The `--target` patterns a job's `pulumi up` gets (pulumi.yml joins them with ';'; '' is the whole stack)."""
    targets = _pulumi_env(job)["TARGETS"]
    return targets.split(";") if targets else []


def test_infra_yml_reads_its_pools_and_targets_from_the_generated_template_at_the_pipeline_level() -> None:
    """Template expressions see the variables a pipeline's YAML defines, variables templates included, but no
    runtime variable such as a variable group's
    (https://learn.microsoft.com/azure/devops/pipelines/process/template-expressions#context); a variables template is
    a list of name/value pairs included with `template:` under `variables:`
    (https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/variables-template). So infra.yml includes the
    pools template in its pipeline-level `variables:` and keeps no pool parameter nor literal pool or URN."""
    document = load(PIPELINES_ROOT / "infra.yml")
    assert {"template": "templates/variables/pools.yml"} in document.data["variables"]
    assert (PIPELINES_ROOT / "templates/variables/pools.yml") == REPO / pipeline_pools.TEMPLATE
    assert not [p["name"] for p in document.data["parameters"] if "pool" in p["name"].lower()]
    text = (PIPELINES_ROOT / "infra.yml").read_text(encoding="utf-8")
    assert "urn:pulumi:" not in text and "mdp-" not in text
    for stack in STACKS:
        for variable in (
            pipeline_pools.pool_variable(stack),
            pipeline_pools.bootstrap_targets_variable(stack),
            pipeline_pools.runner_targets_variable(stack),
        ):
            assert f"${{{{ variables.{variable} }}}}" in text, variable


@pytest.mark.parametrize("stack", STACKS)
def test_each_stacks_jobs_and_their_targets_are_what_its_stack_file_derives(stack: str) -> None:
    """agents_<stack> exactly when the stack has a pool, runner_<stack> exactly when it has container-apps runners,
    each `pulumi up --target`ing the patterns infra/agents_stack.py and infra/runner_bootstrap.py derive."""
    config = config_of(stack)
    deploy = _jobs(_expanded_stages()[f"Deploy_{stack}"])
    bootstrap, runner = agent_pool_bootstrap_targets(config, stack), runner_bootstrap_targets(config, stack)
    assert list(deploy) == [
        *([f"agents_{stack}"] if bootstrap else []),
        *([f"runner_{stack}"] if runner else []),
        f"up_{stack}",
    ]
    if bootstrap:
        assert _targets(deploy[f"agents_{stack}"]) == list(bootstrap)
    if runner:
        steps = deploy[f"runner_{stack}"]["steps"]
        (step,) = [s for s in steps if "PULUMI_COMMAND" in (s.get("env") or {})]
        assert step["env"]["TARGETS"].split(";") == list(runner)
    assert _targets(deploy[f"up_{stack}"]) == []
    assert bool(bootstrap) == config_of(stack).is_private and bool(runner) == config.github_container_apps


def test_the_committed_stacks_have_the_bootstrap_and_runner_targets_infra_yml_used_to_spell_out() -> None:
    """What staging and prod deployed with before the targets were generated: the derivation changed nothing."""
    for stack in PRIVATE_STACKS:
        root = f"urn:pulumi:{stack}::azure-mlops::"
        assert agent_pool_bootstrap_targets(config_of(stack), stack) == (
            f"{root}azure-native:resources:ResourceGroup::resource-group",
            f"{root}azure-mlops:network:PrivateNetwork**",
            f"{root}azure-mlops:cicd:AgentPool**",
            f"{root}azure-mlops:network:EgressFirewall**",
        )
        assert len(runner_bootstrap_targets(config_of(stack), stack)) == 8
    assert agent_pool_bootstrap_targets(config_of("dev"), "dev") == ()
    assert runner_bootstrap_targets(config_of("dev"), "dev") == ()


def test_a_stack_switched_to_github_runners_none_loses_its_runner_job_through_make_pools_alone(
    tmp_path: Path,
) -> None:
    stages = _expanded_stages(copy_with_stack_changes(tmp_path, {"staging": RUNNERS_OFF}))
    deploy = _jobs(stages["Deploy_staging"])
    assert list(deploy) == ["agents_staging", "up_staging"]
    assert deploy["up_staging"]["dependsOn"] == "agents_staging"
    assert deploy["up_staging"]["pool"] == {"name": agent_pool_name("staging")}
    assert not [
        s
        for job in deploy.values()
        for s in job["strategy"]["runOnce"]["deploy"]["steps"]
        if "secureFile" in str(s)
    ]
    # prod, unchanged, keeps its runner job.
    assert list(_jobs(stages["Deploy_prod"])) == ["agents_prod", "runner_prod", "up_prod"]


def test_a_stack_switched_to_the_public_profile_loses_its_pool_and_bootstrap_through_make_pools_alone(
    tmp_path: Path,
) -> None:
    stages = _expanded_stages(copy_with_stack_changes(tmp_path, {"staging": PUBLIC}))
    (up,) = _jobs(stages["Deploy_staging"]).values()
    assert (up["deployment"], up["pool"], up["dependsOn"]) == ("up_staging", {"vmImage": "ubuntu-24.04"}, [])
    publish = _jobs(stages["Publish_staging"])
    assert publish["lifecycle_publish_staging"]["pool"] == {"vmImage": "ubuntu-24.04"}


def test_a_private_stack_with_nat_egress_bootstraps_no_firewall(tmp_path: Path) -> None:
    pipelines = copy_with_stack_changes(tmp_path, {"staging": {"agentEgress": "nat"}})
    targets = _targets(_jobs(_expanded_stages(pipelines)["Deploy_staging"])["agents_staging"])
    assert targets == list(agent_pool_bootstrap_targets(config_of("staging"), "staging"))[:-1]
    assert not [t for t in targets if "EgressFirewall" in t]


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


def _closed_bootstrap(plan: Any, patterns: list[str]) -> set[str]:
    """The resources `patterns` select in `plan`, checked to be creatable by a targeted `pulumi up` on the first
    deploy (closed under dependencies and parents) without a data-plane call."""
    targeted = {r.name for r in plan.resources if any(_matches(p, urn(plan, r)) for p in patterns)}
    assert plan.one(POOL).name in targeted
    by_name = {r.name: r for r in plan.resources}
    for name in targeted:
        missing = set(by_name[name].dependencies) - targeted
        assert missing == set(), f"{name} depends on untargeted {missing}"
        # A child of an untargeted new component cannot be created either.
        assert by_name[name].parent in targeted | {None}, f"{name}'s parent is not targeted"
    assert not [n for n in targeted if not by_name[n].type.startswith(("azure-native:", "azure-mlops:"))]
    assert not {"workspace", "databricks", "lifecycle"} & {n.split("-")[0] for n in targeted}
    return targeted


def test_the_bootstrap_targets_hold_the_pool_and_all_it_depends_on_and_no_data_plane_call() -> None:
    """`pulumi up --target` fails on a targeted resource whose dependency is neither targeted nor already in the
    stack (the first deploy): the targets must be closed under dependencies."""
    (bootstrap,) = [
        job for name, job in _jobs(_expanded_stages()["Deploy_prod"]).items() if name == "agents_prod"
    ]
    # prod with Databricks on: its provider calls the workspace API, which answers only inside the VNet.
    scenario = SCENARIOS["prod-databricks"]
    plan = run_program("prod", scenario.config(REPO))
    targeted = _closed_bootstrap(plan, _targets(bootstrap))
    # The agents' only way out (agentEgress: firewall): the firewall, its rules and their default route.
    assert {
        r.name for r in plan.resources if r.type.startswith("azure-native:network:") and "egress" in r.name
    } <= targeted
    assert plan.one("azure-native:network:Route").name in targeted


def test_with_nat_egress_the_bootstrap_targets_still_hold_the_pool_and_all_it_depends_on() -> None:
    """agentEgress nat: no firewall; the NAT gateway and its address, part of the VNet's component, come up with it."""
    values = stack_config("staging", agentEgress="nat")
    config = parse_stack_config(project_config_values(values))
    plan = run_program("staging", values)
    targeted = _closed_bootstrap(plan, list(agent_pool_bootstrap_targets(config, "staging")))
    nat = {r.name for r in plan.resources if r.type in ("azure-native:network:NatGateway",)}
    assert nat and nat <= targeted
    assert not plan.of_type("azure-native:network:AzureFirewall")


def test_the_expander_evaluates_split_as_azure_pipelines_does() -> None:
    """A variable is a string: pulumi-deploy.yml turns a targets variable back into the list of `--target` patterns
    with split(), which returns the substrings between the delimiters, empty strings included where delimiters meet
    or end the text (https://learn.microsoft.com/azure/devops/pipelines/process/expressions#split). So '' splits
    into [''], never []: the template tests the string (`ne(parameters.bootstrapTargets, '')`) before it splits, and
    pulumi.yml drops empty patterns."""
    scope = {"parameters": {"t": "urn:a urn:b", "none": ""}}
    assert evaluate("split(parameters.t, ' ')", scope) == ["urn:a", "urn:b"]
    assert evaluate("split(parameters.none, ' ')", scope) == [""]
    assert evaluate("split('a  b ', ' ')", {}) == ["a", "", "b", ""]
    assert evaluate("join(';', split(parameters.t, ' '))", scope) == "urn:a;urn:b"


def _deploy_jobs_with(bootstrap: str, runner: str) -> dict[str, dict[str, Any]]:
    """pulumi-deploy.yml's jobs when a pipeline beside infra.yml passes these targets strings."""
    call = {
        "template": "templates/jobs/pulumi-deploy.yml",
        "parameters": {
            "stack": "qa",
            "environment": "mlops-qa",
            "azureServiceConnection": "sc-mlops-qa",
            "pulumiVersion": "3.272.0",
            "pool": {"name": "mdp-qa"},
            "bootstrapTargets": bootstrap,
            "runnerTargets": runner,
        },
    }
    document = Document(PIPELINES_ROOT / "probe.yml", {"jobs": [call]}, "pipeline")
    expansion = expand(document, superset=False)
    assert expansion.findings == [], expansion.findings
    return {job.get("job") or job.get("deployment"): job for job in expansion.body["jobs"]}


def test_pulumi_deploy_adds_a_targeted_job_only_for_a_non_empty_targets_string() -> None:
    """Conditional insertion: `${{ if }}` keeps or drops a job when the template is expanded
    (https://learn.microsoft.com/azure/devops/pipelines/process/template-expressions#conditional-insertion). With ''
    the job does not exist: split('') would give [''], an empty --target list, which is the whole stack."""
    assert list(_deploy_jobs_with("", "")) == ["up_qa"]
    assert list(_deploy_jobs_with("", "urn:r")) == [
        "up_qa"
    ]  # runner_<stack> needs the pool's bootstrap first
    jobs = _deploy_jobs_with("urn:a urn:b**", "")
    assert list(jobs) == ["agents_qa", "up_qa"] and _targets(jobs["agents_qa"]) == ["urn:a", "urn:b**"]
    jobs = _deploy_jobs_with("urn:a", "urn:r1 urn:r2")
    assert list(jobs) == ["agents_qa", "runner_qa", "up_qa"]
    (step,) = [s for s in jobs["runner_qa"]["steps"] if "PULUMI_COMMAND" in (s.get("env") or {})]
    assert step["env"]["TARGETS"] == "urn:r1;urn:r2"
    assert jobs["up_qa"]["dependsOn"] == "runner_qa" and _targets(jobs["up_qa"]) == []


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
