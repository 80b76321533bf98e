"""What the expanded pipelines do: triggers, stage order, environments, auth, the re-queued AML wait."""

import re
from typing import Any

import yaml

from pipelines.validation.documents import PIPELINES_ROOT, load
from pipelines.validation.templates import expand

TEMPLATES = PIPELINES_ROOT / "templates"


def _expanded(name: str) -> dict[str, Any]:
    return expand(load(PIPELINES_ROOT / name), superset=False).body


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]


def _pulumi_step(job: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in _steps(job) if s.get("task") == "AzureCLI@2")


def test_infra_runs_on_pull_requests_and_main():
    raw = yaml.safe_load((PIPELINES_ROOT / "infra.yml").read_text())
    assert raw["pr"]["branches"]["include"] == ["main"]
    assert raw["trigger"]["branches"]["include"] == ["main"]


def test_infra_pull_requests_gate_preview_and_publish_every_stack():
    preview = _expanded("infra.yml")["stages"][0]
    assert preview["condition"] == "eq(variables['Build.Reason'], 'PullRequest')"
    jobs = {job["job"]: job for job in preview["jobs"]}
    assert set(jobs) == {"preview_dev", "preview_staging", "preview_prod"}
    for stack in ("dev", "staging", "prod"):
        steps = _steps(jobs[f"preview_{stack}"])
        scripts = [s.get("bash", "") for s in steps]
        assert 'make plan STACK="${STACK}"' in scripts and 'make scan STACK="${STACK}"' in scripts
        assert _pulumi_step(jobs[f"preview_{stack}"])["env"]["PULUMI_COMMAND"] == "preview"
        publish = steps[-1]
        assert publish["task"] == "PublishPipelineArtifact@1"
        assert publish["inputs"]["artifact"] == f"pulumi-preview-{stack}"


def _depends_on(stage: dict[str, Any]) -> list[str]:
    targets = stage.get("dependsOn", [])
    return [targets] if isinstance(targets, str) else list(targets)


def _stages_run_on_main(stages: dict[str, dict[str, Any]], failing: str | None = None) -> dict[str, str]:
    """Each stage's result on a main-branch run in which only `failing` fails, as Azure Pipelines decides it:
    a stage without a condition runs only when every stage it depends on succeeded (`succeeded()`)."""
    results: dict[str, str] = {}
    for name, stage in stages.items():
        if name == "Preview":
            results[name] = "skipped"  # pull requests only
            continue
        if name != "Deploy_dev":
            assert "condition" not in stage, f"{name} must keep the default condition, succeeded()"
        ready = all(results[target] == "succeeded" for target in _depends_on(stage))
        results[name] = ("failed" if name == failing else "succeeded") if ready else "skipped"
    return results


def test_infra_main_deploys_dev_then_staging_then_prod_each_on_its_environment():
    stages = {stage["stage"]: stage for stage in _expanded("infra.yml")["stages"]}
    assert "refs/heads/main" in stages["Deploy_dev"]["condition"]
    assert stages["Deploy_dev"]["dependsOn"] == []
    # Each later stack is promoted only after the previous stack was deployed and its handler published.
    assert stages["Deploy_staging"]["dependsOn"] == ["Deploy_dev", "Publish_dev"]
    assert stages["Deploy_prod"]["dependsOn"] == ["Deploy_staging", "Publish_staging"]
    for stack in ("dev", "staging", "prod"):
        assert stages[f"Publish_{stack}"]["dependsOn"] == f"Deploy_{stack}"
        # Private stacks first bring their agent pool up to date from hosted agents (tests/infra/test_agent_pool_pipelines.py).
        *_, job = stages[f"Deploy_{stack}"]["jobs"]
        assert (job["deployment"], job["environment"]) == (f"up_{stack}", f"mlops-{stack}")
        assert _pulumi_step(job)["env"]["PULUMI_COMMAND"] == "up"
        assert _pulumi_step(job)["env"]["TARGETS"] == ""  # the whole stack
        assert _pulumi_step(job)["inputs"]["azureSubscription"] == f"sc-mlops-{stack}"


def test_infra_a_failed_publish_stops_promotion_to_the_next_stack():
    stages = {stage["stage"]: stage for stage in _expanded("infra.yml")["stages"]}
    deploys_and_publishes = [name for name in stages if name != "Preview"]
    assert set(_stages_run_on_main(stages).values()) == {"skipped", "succeeded"}
    assert all(_stages_run_on_main(stages)[name] == "succeeded" for name in deploys_and_publishes)

    after_dev = _stages_run_on_main(stages, failing="Publish_dev")
    assert after_dev["Deploy_dev"] == "succeeded"
    assert [
        after_dev[f"{kind}_{stack}"] for stack in ("staging", "prod") for kind in ("Deploy", "Publish")
    ] == ["skipped"] * 4

    after_staging = _stages_run_on_main(stages, failing="Publish_staging")
    assert (after_staging["Publish_dev"], after_staging["Deploy_staging"]) == ("succeeded", "succeeded")
    assert (after_staging["Deploy_prod"], after_staging["Publish_prod"]) == ("skipped", "skipped")

    # A failed `pulumi up` stops its own publish and everything after it, as before.
    after_up = _stages_run_on_main(stages, failing="Deploy_staging")
    assert [after_up[name] for name in ("Publish_staging", "Deploy_prod", "Publish_prod")] == ["skipped"] * 3


def test_pulumi_cli_is_pinned_and_installed_with_that_version():
    variables = {v.get("name"): v.get("value") for v in load(PIPELINES_ROOT / "infra.yml").data["variables"]}
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(variables["pulumiVersion"]))
    install = yaml.safe_load((TEMPLATES / "steps/install-pulumi.yml").read_text())["steps"][0]
    assert 'get.pulumi.com | sh -s -- --version "${PULUMI_VERSION}"' in install["bash"]


def test_pulumi_authenticates_with_workload_identity_federation_and_no_client_secret():
    step = yaml.safe_load((TEMPLATES / "steps/pulumi.yml").read_text())["steps"][-1]
    script = step["inputs"]["inlineScript"]
    assert step["inputs"]["addSpnToEnvironment"] is True
    for line in (
        "export ARM_USE_OIDC=true",
        'export ARM_OIDC_TOKEN="${idToken}"',
        'export ARM_CLIENT_ID="${servicePrincipalId}"',
        'export ARM_TENANT_ID="${tenantId}"',
        "export ARM_SUBSCRIPTION_ID",
    ):
        assert line in script
    assert "ARM_CLIENT_SECRET" not in script and "servicePrincipalKey" not in script


def test_pulumi_access_token_is_only_mapped_through_env_for_pulumi_cloud():
    body = _expanded("infra.yml")
    text = yaml.safe_dump(body)
    assert "PULUMI_ACCESS_TOKEN: $(PULUMI_ACCESS_TOKEN)" not in text  # azblob is the default backend
    raw = (TEMPLATES / "steps/pulumi.yml").read_text()
    assert raw.count("$(PULUMI_ACCESS_TOKEN)") == 1
    assert "        PULUMI_ACCESS_TOKEN: $(PULUMI_ACCESS_TOKEN)" in raw


def test_teardown_runs_the_guard_before_any_credentialed_step():
    (job,) = _expanded("teardown.yml")["stages"][0]["jobs"]
    steps = _steps(job)
    guard = next(i for i, s in enumerate(steps) if "teardown_guard" in s.get("bash", ""))
    destroy = next(i for i, s in enumerate(steps) if s.get("task") == "AzureCLI@2")
    assert guard < destroy
    assert steps[destroy]["env"]["PULUMI_COMMAND"] == "destroy"
    assert load(PIPELINES_ROOT / "teardown.yml").data["trigger"] == "none"


def test_aml_job_wait_is_a_chain_of_requeued_attempts_ending_in_a_verdict():
    stage = next(s for s in _expanded("ml.yml")["stages"] if s["stage"] == "Train")
    jobs = {job["job"]: job for job in stage["jobs"]}
    assert [name for name in jobs if name.startswith("train")] == [
        "train_submit",
        *(f"train_wait_{i}" for i in range(1, 7)),
        "train",
    ]
    assert "outputs['poll.state'], 'Running'" in jobs["train_wait_3"]["condition"]
    assert "train_wait_2" in jobs["train_wait_3"]["dependsOn"]
    wait_script = _pulumi_step(jobs["train_wait_3"])
    assert wait_script["env"]["REQUEUE_STATE_VARIABLE"] == "state"
    assert '75) echo "##vso[task.setvariable' in wait_script["inputs"]["inlineScript"]
    verdict = jobs["train"]
    assert "--final-attempt" in _pulumi_step(verdict)["inputs"]["inlineScript"]
    assert "--on-timeout cancel" in _pulumi_step(verdict)["inputs"]["inlineScript"]
    assert jobs["register_model"]["dependsOn"] == ["train"]


def test_model_is_released_to_staging_then_prod_through_approval_environments():
    stages = {s["stage"]: s for s in _expanded("ml.yml")["stages"]}
    releases = {}
    for name in ("Release_staging", "Release_prod"):
        assets, release = stages[name]["jobs"]
        # The endpoint exists, with the YAML's settings, before a colour is deployed to it.
        assert assets["job"] == "assets" and release["dependsOn"] == ["assets"]
        releases[name] = release
    staging, prod = releases["Release_staging"], releases["Release_prod"]
    assert (staging["environment"], prod["environment"]) == ("mlops-staging", "mlops-prod")
    assert "Release_staging" in stages["Release_prod"]["dependsOn"]
    assert "registryModelUri" in prod["variables"]
