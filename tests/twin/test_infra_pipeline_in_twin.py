"""infra.yml run step by step (its expanded YAML, in order) against the twins of dev, staging and prod: `pulumi`,
`az`, `docker` and the Python entry points answered by the twin, each job's agent located by its `pool`.

The twin is the fake of the cloud boundary (Azure, Azure DevOps); everything the pipeline runs is the real code.
"""

from __future__ import annotations

import hashlib

import pytest

from infra import pipeline_pools
from infra.components.github_runners_container_apps import RUNNER_IMAGE_REPOSITORY, RUNNER_VERSION
from infra.plan.engine import run_program
from infra.plan.stack_files import load_stack_config
from pipelines.validation.documents import PIPELINES_ROOT
from tests.support.azure_twin.azure_pipelines import run_azure_pipeline
from tests.support.azure_twin.caller import Caller
from tests.support.azure_twin.from_plan import REPO, STACKS, cloud_of, stack_twin
from tests.support.azure_twin.images_and_secrets import keyvault_secret, up
from tests.support.azure_twin.variables import group_name, group_variables
from tests.support.pipeline_copy import copy_with_stack_changes, set_generated_variables

pytestmark = pytest.mark.slow

SECURE_FILE = "github-runner-app-key.pem"
"""The secure file infra.yml's runner jobs download (templates/jobs/pulumi-deploy.yml's default)."""
APP_KEY = "-----BEGIN RSA PRIVATE KEY-----\nTWIN-ONLY-APP-KEY-0f3c9e\n-----END RSA PRIVATE KEY-----\n"
"""What the user uploads once as that secure file (a marker, not a key)."""


def test_main_deploys_each_stack_then_publishes_its_lifecycle_handler_from_a_network_that_reaches_it(
    stack_twins,
):
    """A function app with public network access disabled takes deployments only through its private endpoint:
    its SCM site refuses other clients with 403 (https://learn.microsoft.com/en-us/azure/app-service/
    overview-access-restrictions). The twin starts with nothing deployed: each stack exists once its `pulumi up` ran.
    """
    cloud = cloud_of(stack_twins, deployed=False)
    cloud.secure_files[SECURE_FILE] = APP_KEY
    run = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO)
    assert run.failures() == [], "\n\n".join(run.failures())
    assert {stack: cloud.stacks[stack].deployed for stack in STACKS} == dict.fromkeys(STACKS, True)
    for stack in STACKS:
        for app in cloud.stacks[stack].function_apps:
            assert app.packages == ["lifecycle_events.zip"], f"{stack}: handler {app.name} was not published"
    assert cloud.refusals() == []
    for stack in STACKS:  # CONTRACT.md: the infra pipeline fills each group right after the stack's deploy
        written = cloud.variable_groups.get(group_name(stack), {}).get("variables", {})
        assert {k: v["value"] for k, v in written.items()} == group_variables(cloud.stacks[stack].outputs), (
            stack
        )
    ran = [key.split(".")[0] for key, result in run.results.items() if result == "Succeeded"]
    assert list(dict.fromkeys(ran)) == [
        f"{kind}_{stack}" for stack in STACKS for kind in ("Deploy", "Publish")
    ]


def test_a_pull_request_previews_every_stack_and_deploys_none(stack_twins):
    cloud = cloud_of(stack_twins, deployed=False)
    run = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO, build_reason="PullRequest")
    assert run.failures() == [], "\n\n".join(run.failures())
    assert {key for key, result in run.results.items() if result == "Succeeded"} == {
        f"Preview.preview_{stack}" for stack in STACKS
    }
    assert not any(stack.deployed for stack in cloud.stacks.values())
    assert cloud.calls == []


RUNNER_STACKS = ("staging", "prod")
"""The committed stacks with githubRunners: container-apps."""


def _index(cloud, operation: str, target: str) -> int:
    found = [i for i, call in enumerate(cloud.calls) if (call.operation, call.target) == (operation, target)]
    assert found, f"no call {operation} {target}"
    return found[0]


def test_the_first_run_on_the_azure_twin_pushes_the_referenced_image_and_stores_the_key_before_the_runner_job(
    stack_twins,
):
    """A Container Apps job resolves its Key Vault references with its identity when it is created
    (https://learn.microsoft.com/azure/container-apps/manage-secrets#reference-secret-from-key-vault) and its image
    must exist (https://learn.microsoft.com/azure/container-apps/troubleshoot-deployment-errors): both are done in
    the same run, from the stack's Managed DevOps Pool, whose Azure Pipelines images carry the hosted agents'
    software (https://learn.microsoft.com/azure/devops/managed-devops-pools/configure-images), Docker included
    (https://learn.microsoft.com/azure/devops/pipelines/ecosystems/containers/build-image). ACR Tasks would need a
    dedicated, Premium-only preview agent pool in the VNet to reach a network-restricted registry
    (https://learn.microsoft.com/azure/container-registry/tasks-agent-pools), so the pool's Docker builds."""
    cloud = cloud_of(stack_twins, deployed=False)
    cloud.secure_files[SECURE_FILE] = APP_KEY
    run = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO)
    assert run.failures() == [], "\n\n".join(run.failures())
    digest = hashlib.sha256(APP_KEY.encode()).hexdigest()
    for name in RUNNER_STACKS:
        stack = cloud.stacks[name]
        (job,) = stack.runner_jobs
        assert job.image == stack.outputs["githubRunnerImage"]
        (registry,) = stack.container_registries
        repository, tag = job.image.split("/", 1)[1].rsplit(":", 1)
        assert registry.images == {repository: [tag]}, name
        ((vault_name, secret),) = [
            url.split("/")[2].split(".")[0:1] + url.split("/")[-1:] for url in job.key_vault_urls
        ]
        (vault,) = stack.key_vaults
        assert vault.name == vault_name and vault.secrets == {secret: {"sha256": digest}}, name
        created = _index(cloud, "create container apps job", job.name)
        assert _index(cloud, "docker push", job.image) < created
        assert _index(cloud, "keyvault secret set", f"{vault.name}/{secret}") < created
        pool = f"agent pool {stack.outputs['agentPoolName']!r}"
        assert {c.caller for c in cloud.calls if c.target in (job.image, f"{vault.name}/{secret}")} == {pool}
    assert cloud.refusals() == []
    marker = "TWIN-ONLY-APP-KEY"
    assert not [f"{s.job}/{s.name}" for s in run.steps if marker in s.output], "the key reached a log"
    assert marker not in cloud.model_copy(update={"secure_files": {}}).model_dump_json(), (
        "the key reached Azure's state"
    )


def test_a_second_run_on_the_azure_twin_rebuilds_nothing_and_stores_no_new_key_version(stack_twins):
    """The registry is asked for the content tag first and the stored key's SHA-256 tag is compared: an unchanged
    infra/runner_image/ and an unchanged secure file change nothing."""
    cloud = cloud_of(stack_twins, deployed=False)
    cloud.secure_files[SECURE_FILE] = APP_KEY
    first = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO)
    assert first.failures() == [], "\n\n".join(first.failures())
    before = len(cloud.calls)
    second = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO)
    assert second.failures() == [], "\n\n".join(second.failures())
    again = [c.operation for c in cloud.calls[before:]]
    assert again.count("docker manifest inspect") == len(RUNNER_STACKS)
    assert not {"docker build", "docker push", "keyvault secret set"} & set(again)
    for name in RUNNER_STACKS:
        (vault,) = cloud.stacks[name].key_vaults
        assert vault.versions == dict.fromkeys(vault.secrets, 1)


def test_an_image_built_from_another_runner_image_folder_is_not_reused_on_the_azure_twin(stack_twins):
    """A registry holding only an older content tag (a Dockerfile since changed) gets the new tag built and pushed
    beside it: the tag the stack's job references is the current folder's."""
    cloud = cloud_of(stack_twins, deployed=False)
    cloud.secure_files[SECURE_FILE] = APP_KEY
    old = f"{RUNNER_VERSION}-000000000000"
    for name in RUNNER_STACKS:
        (registry,) = cloud.stacks[name].container_registries
        registry.images[RUNNER_IMAGE_REPOSITORY] = [old]
    run = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO)
    assert run.failures() == [], "\n\n".join(run.failures())
    for name in RUNNER_STACKS:
        stack = cloud.stacks[name]
        (registry,) = stack.container_registries
        new = stack.outputs["githubRunnerImage"].rsplit(":", 1)[1]
        assert new != old and registry.images == {RUNNER_IMAGE_REPOSITORY: [old, new]}
        built = [c.target for c in cloud.calls if c.operation == "docker build"]
        assert built.count(stack.outputs["githubRunnerImage"]) == 1


def test_the_azure_twin_refuses_the_runner_jobs_pushes_from_a_hosted_agent_outside_the_vnet(
    stack_twins, tmp_path
):
    """A registry with public network access disabled answers only through its private endpoints
    (https://learn.microsoft.com/azure/container-registry/container-registry-private-link): a runner job on a
    Microsoft-hosted agent fails, and the stack's `pulumi up` never starts. The pipelines are a copy whose generated
    pools template was edited by hand to put staging's jobs on Microsoft-hosted agents (what no stack file gives)."""
    cloud = cloud_of(stack_twins, deployed=False)
    cloud.secure_files[SECURE_FILE] = APP_KEY
    pipelines = copy_with_stack_changes(tmp_path, {})
    set_generated_variables(pipelines, {pipeline_pools.pool_variable("staging"): ""})
    run = run_azure_pipeline(pipelines / "infra.yml", cloud, REPO)
    assert run.results["Deploy_staging.runner_staging"] == "Failed"
    assert run.results["Deploy_staging.up_staging"] == "Skipped"
    (refused,) = cloud.refusals()
    assert (refused.operation, refused.caller) == ("acr login", "Microsoft-hosted agent (ubuntu-24.04)")
    assert "aka.ms/acr/firewall" in refused.refused
    assert not cloud.stacks["staging"].deployed


def test_a_stack_switched_to_github_runners_none_deploys_without_a_runner_job_or_secure_file_on_the_azure_twin(
    stack_twins, tmp_path
):
    """After `githubRunners: none` in Pulumi.staging.yaml and `make pools`, infra.yml runs no runner_staging job:
    staging (its twin built from the edited file) deploys although no secure file was uploaded, and prod (still
    container-apps) stops at its runner job for want of it, as before."""
    runners_off = dict.fromkeys(("githubRunnerUrl", "githubAppId", "githubAppInstallationId"))
    pipelines = copy_with_stack_changes(tmp_path, {"staging": {**runners_off, "githubRunners": "none"}})
    staging = stack_twin(run_program("staging", load_stack_config(tmp_path, "staging")))
    assert staging.runner_jobs == [] and staging.outputs["agentPoolName"]
    cloud = cloud_of({**stack_twins, "staging": staging}, deployed=False)
    run = run_azure_pipeline(pipelines / "infra.yml", cloud, REPO)
    assert "Deploy_staging.runner_staging" not in run.results
    assert run.results["Deploy_staging.agents_staging"] == "Succeeded"
    assert run.results["Deploy_staging.up_staging"] == "Succeeded" and cloud.stacks["staging"].deployed
    (failure,) = run.failures()
    assert "runner_prod" in failure and SECURE_FILE in failure and "could not be found" in failure
    assert run.results["Deploy_prod.up_prod"] == "Skipped"


def test_without_the_secure_file_the_first_run_stops_before_creating_the_runner_job_on_the_azure_twin(
    stack_twins,
):
    """A secure file nobody uploaded fails DownloadSecureFile@1
    (https://learn.microsoft.com/azure/devops/pipelines/library/secure-files): the one thing a user sets once."""
    cloud = cloud_of(stack_twins, deployed=False)
    run = run_azure_pipeline(PIPELINES_ROOT / "infra.yml", cloud, REPO)
    (failure,) = run.failures()
    assert "runner_staging" in failure and SECURE_FILE in failure and "could not be found" in failure
    assert run.results["Deploy_staging.up_staging"] == "Skipped"
    assert not [c for c in cloud.calls if c.operation == "create container apps job"]


@pytest.mark.parametrize("missing", ["image", "secret"])
def test_the_azure_twin_refuses_a_runner_job_whose_image_or_key_vault_secret_does_not_exist(
    stack_twins, missing
):
    """Container Apps refuses a job whose image tag the registry lacks
    (https://learn.microsoft.com/azure/container-apps/troubleshoot-deployment-errors) or whose Key Vault reference
    names a secret it cannot read (https://learn.microsoft.com/azure/container-apps/manage-secrets#reference-secret-from-key-vault)."""
    cloud = cloud_of(stack_twins, deployed=False)
    stack = cloud.stacks["staging"]
    (job,) = stack.runner_jobs
    (registry,) = stack.container_registries
    (vault,) = stack.key_vaults
    repository, tag = job.image.split("/", 1)[1].rsplit(":", 1)
    stack.created = [registry.urn, vault.urn]
    if missing != "image":
        registry.images[repository] = [tag]
    if missing != "secret":
        vault.secrets[job.key_vault_urls[0].rsplit("/", 1)[-1]] = {}
    assert up(cloud, stack, [], Caller(pool=stack.outputs["agentPoolName"])) == 255
    (refused,) = cloud.refusals()
    assert refused.operation == "create container apps job" and refused.target == job.name
    assert (
        "MANIFEST_UNKNOWN" if missing == "image" else "Unable to get value using Managed identity"
    ) in refused.refused
    assert not stack.deployed


def test_the_azure_twin_refuses_a_secret_write_to_a_private_vault_from_outside_its_vnet(
    stack_twins, tmp_path
):
    """A key vault with public network access disabled accepts data-plane calls only through its private
    endpoints (https://learn.microsoft.com/azure/key-vault/general/private-link-service): the key is stored from the
    stack's pool, once the vault's private endpoint exists, and never from a Microsoft-hosted agent."""
    cloud = cloud_of(stack_twins, deployed=False)
    stack = cloud.stacks["staging"]
    (vault,) = stack.key_vaults
    (pool,) = stack.agent_pools
    endpoint = stack.private_endpoint_urns[vault.resource_id]
    key = tmp_path / "app-key.pem"
    key.write_text(APP_KEY, encoding="utf-8")
    command = ["set", "--vault-name", vault.name, "--name", "github-runner-app-key", "--file", str(key)]
    stack.created = [pool.urn, vault.urn]  # the vault and the pool, not yet the endpoint
    assert keyvault_secret(cloud, Caller(pool=pool.name), command) == 1
    stack.created.append(endpoint)
    assert keyvault_secret(cloud, Caller(vm_image="ubuntu-24.04"), command) == 1
    assert keyvault_secret(cloud, Caller(pool=pool.name), command) == 0
    refused = [(c.caller, "ForbiddenByConnection" in c.refused) for c in cloud.refusals()]
    assert refused == [(f"agent pool {pool.name!r}", True), ("Microsoft-hosted agent (ubuntu-24.04)", True)]
    assert vault.versions == {"github-runner-app-key": 1}
