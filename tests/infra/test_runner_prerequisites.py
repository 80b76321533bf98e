"""infra.yml's runner_<stack> jobs: before `pulumi up` creates a private stack's GitHub runner job, they bring up
exactly what its image and key need (a targeted up closed under dependencies), on the stack's own pool, and push and
store them under the names the stack's job references (pipelines/scripts/runner_prerequisites.py)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.plan.engine import DEFAULT_SUBSCRIPTION_ID, run_program
from infra.plan.stack_files import load_stack_config
from infra.roles import BuiltInRole
from infra.runner_bootstrap import RUNNER_DEPLOYER_ACCESS, runner_bootstrap_targets
from pipelines.scripts.runner_prerequisites import prerequisites
from pipelines.validation.documents import PIPELINES_ROOT, load
from pipelines.validation.templates import expand
from tests.infra.conftest import REPO, agent_pool_name, config_of
from tests.support.azure_twin.from_plan import urn
from tests.support.azure_twin.images_and_secrets import target_pattern

PRIVATE_STACKS = ("staging", "prod")
DEPLOYER = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def _deploy_jobs(stack: str) -> dict[str, dict[str, Any]]:
    body = expand(load(PIPELINES_ROOT / "infra.yml"), superset=False).body
    (stage,) = [s for s in body["stages"] if s["stage"] == f"Deploy_{stack}"]
    return {job.get("job") or job.get("deployment"): job for job in stage["jobs"]}


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]


def _targets(job: dict[str, Any]) -> list[str]:
    (step,) = [s for s in _steps(job) if "PULUMI_COMMAND" in (s.get("env") or {})]
    return step["env"]["TARGETS"].split(";")


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_runner_job_runs_on_the_stacks_pool_after_its_bootstrap_with_the_targets_the_stack_derives(
    stack: str,
) -> None:
    jobs = _deploy_jobs(stack)
    runner = jobs[f"runner_{stack}"]
    assert runner["pool"] == {"name": agent_pool_name(stack)}
    assert runner["dependsOn"] == f"agents_{stack}" and jobs[f"up_{stack}"]["dependsOn"] == f"runner_{stack}"
    assert _targets(runner) == list(runner_bootstrap_targets(config_of(stack), stack))
    tasks = [s.get("task") for s in _steps(runner)]
    # The names first, then the image, then the key file and the key: never the other way round.
    assert tasks.index("DownloadSecureFile@1") < len(tasks) - 1 and tasks.count("AzureCLI@2") == 4


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_runner_targets_hold_the_vault_the_registry_their_endpoints_and_the_deployers_grants_closed_under_dependencies(
    stack: str,
) -> None:
    """`pulumi up --target` fails on a targeted resource whose dependency is neither targeted nor in the stack: with
    agents_<stack>'s targets (already up), the runner targets must be closed under dependencies. With
    deployerPrincipalId set, the deployer gets Key Vault Secrets Officer on the vault and AcrPush on the registry,
    and nothing else in that component."""
    config = load_stack_config(REPO, stack) | {"azure-mlops:deployerPrincipalId": DEPLOYER}
    plan = run_program(stack, config)
    jobs = _deploy_jobs(stack)
    runner = [target_pattern(t) for t in _targets(jobs[f"runner_{stack}"])]
    earlier = [target_pattern(t) for t in _targets(jobs[f"agents_{stack}"])]
    chosen = {r.name for r in plan.resources if any(p.match(urn(plan, r)) for p in runner)}
    done = {r.name for r in plan.resources if any(p.match(urn(plan, r)) for p in earlier)}
    by_name = {r.name: r for r in plan.resources}
    assert {"key-vault-vault", "container-registry-registry"} <= chosen
    assert {f"private-endpoints-{t}{s}" for t in ("vault", "registry") for s in ("", "-dns")} <= chosen
    for name in chosen:
        missing = set(by_name[name].dependencies) - chosen - done
        assert missing == set(), f"{name} depends on untargeted {missing}"
        assert by_name[name].parent in chosen | done | {None}, f"{name}'s parent is not targeted"
    grants = {
        (r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"], r.inputs["principalId"])
        for r in plan.of_type(ROLE_ASSIGNMENT)
        if r.parent == RUNNER_DEPLOYER_ACCESS
    }
    assert {r.name for r in plan.of_type(ROLE_ASSIGNMENT) if r.parent == RUNNER_DEPLOYER_ACCESS} <= chosen
    vault, registry = (
        plan.one("azure-native:keyvault:Vault"),
        plan.one("azure-native:containerregistry:Registry"),
    )
    assert grants == {
        (BuiltInRole.KEY_VAULT_SECRETS_OFFICER, vault.resource_id, DEPLOYER),
        (BuiltInRole.ACR_PUSH, registry.resource_id, DEPLOYER),
    }
    assert not {"workspace", "databricks", "lifecycle", "github"} & {n.split("-")[0] for n in chosen}


def test_without_a_deployer_principal_the_stack_declares_no_runner_grants(plans) -> None:
    assert [r for r in plans["staging"].resources if r.name == RUNNER_DEPLOYER_ACCESS] == []


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_the_script_names_the_image_vault_and_secret_the_stacks_runner_job_references(
    plans, stack: str
) -> None:
    """What runner_<stack> pushes and stores, derived from the stack file and the subscription as the program
    derives it, is what the plan's job pulls and reads: a rename on either side fails here."""
    plan = plans[stack]
    found = prerequisites(stack, DEFAULT_SUBSCRIPTION_ID)
    (job,) = plan.of_type("azure-native:app:Job")
    (secret,) = job.inputs["configuration"]["secrets"]
    assert found == {
        "enabled": "true",
        "registry": plan.outputs["containerRegistryName"],
        "image": plan.outputs["githubRunnerImage"],
        "vault": plan.outputs["keyVaultName"],
        "secretName": secret["keyVaultUrl"].rsplit("/", 1)[-1],
    }
    assert job.inputs["template"]["containers"][0]["image"] == found["image"]
    assert f"https://{found['vault']}.vault.azure.net/" in secret["keyVaultUrl"]


def test_a_stack_without_container_apps_runners_has_nothing_to_push() -> None:
    assert prerequisites("dev", DEFAULT_SUBSCRIPTION_ID)["enabled"] == "false"
    # And no runner job in infra.yml: its targets are empty (generated pools template, infra/pipeline_pools.py).
    assert runner_bootstrap_targets(config_of("dev"), "dev") == ()
    assert "runner_dev" not in _deploy_jobs("dev")


def test_a_private_stack_switched_to_github_runners_none_has_no_runner_targets() -> None:
    config = config_of("staging").model_copy(update={"github_runners": "none"})
    assert not config.github_container_apps and config.is_private
    assert runner_bootstrap_targets(config, "staging") == ()
