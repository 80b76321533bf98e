"""infra.yml publishes the lifecycle handler after each `pulumi up`, for stacks that have it.

The pipeline is expanded as Azure DevOps would (templates bound, expressions on compile-time values
resolved) and validated against Microsoft's schema; the jobs are then checked for what they must do: wait
for `pulumi up`, read the stack output with the stack's own service connection, build the package with
functions/publish.py, skip when the output is empty, and publish with `az functionapp deployment source
config-zip` on a pool that can reach the app (the stack's Managed DevOps Pool, in its VNet, for the private
stacks). Publishing is a stage of its own after each Deploy stage, and the next stack's Deploy stage waits for
it, so a failed publish stops promotion.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import pipeline_pools
from pipelines.validation.documents import PIPELINES_ROOT, Document, anchors_and_aliases, load
from pipelines.validation.rules import rule_findings
from pipelines.validation.schema import schema_errors
from pipelines.validation.templates import expand, template_findings

INFRA = PIPELINES_ROOT / "infra.yml"
REPO = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def document() -> Document:
    return load(INFRA)


def _stages(document: Document) -> dict[str, dict[str, Any]]:
    return {stage["stage"]: stage for stage in expand(document, superset=False).body["stages"]}


def _stage_jobs(document: Document, stack: str) -> dict[str, dict[str, Any]]:
    return {
        job.get("job") or job.get("deployment"): job for job in _stages(document)[f"Publish_{stack}"]["jobs"]
    }


def _task(job: dict[str, Any], task: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if s.get("task") == task]
    return step


def test_infra_yml_still_validates_against_microsofts_schema_and_the_house_rules(document: Document) -> None:
    assert schema_errors(document) == []
    assert template_findings(document) == []
    assert rule_findings(document) == []
    assert anchors_and_aliases(INFRA) == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_package_job_waits_for_pulumi_up_and_reads_the_stack_with_its_own_connection(
    stack: str, document: Document
) -> None:
    stages = _stages(document)
    # The stage runs after Deploy_<stack> succeeded (a stage's default condition), so after `pulumi up`.
    assert stages[f"Publish_{stack}"]["dependsOn"] == f"Deploy_{stack}"
    assert "condition" not in stages[f"Publish_{stack}"]
    # The full `pulumi up` is the stage's last job (private stacks update their agent pool first).
    assert [job.get("deployment") for job in stages[f"Deploy_{stack}"]["jobs"]][-1] == f"up_{stack}"
    jobs = _stage_jobs(document, stack)
    assert set(jobs) == {f"lifecycle_package_{stack}", f"lifecycle_publish_{stack}"}
    package = jobs[f"lifecycle_package_{stack}"]
    assert "dependsOn" not in package
    assert package["pool"] == {"vmImage": "ubuntu-24.04"}  # needs only the state backend and ARM
    step = _task(package, "AzureCLI@2")
    assert (
        step["name"] == "target"
    )  # the output variables are target.functionAppName, target.resourceGroupName
    assert step["inputs"]["azureSubscription"] == f"sc-mlops-{stack}"
    script = step["inputs"]["inlineScript"]
    assert script.startswith("set -euo pipefail\n")
    assert f"python3 -m functions.publish target --stack {stack}\n" in script
    assert (
        'python3 -m functions.publish build --output "$(Build.ArtifactStagingDirectory)/lifecycle_events.zip"'
        in script
    )
    # The azblob backend's variables reach the step (compile-time stateBackend is azblob); no token does.
    assert step["env"]["STATE_BACKEND"] == "azblob"
    assert {"PULUMI_STATE_STORAGE_ACCOUNT", "PULUMI_STATE_CONTAINER"} <= set(step["env"])
    assert "PULUMI_ACCESS_TOKEN" not in step["env"]
    artifact = _task(package, "PublishPipelineArtifact@1")
    assert artifact["inputs"]["artifact"] == f"lifecycle-{stack}"
    assert artifact["condition"] == "and(succeeded(), ne(variables['target.functionAppName'], ''))"


@pytest.mark.parametrize("stack", STACKS)
def test_the_publish_job_runs_only_for_stacks_with_the_handler_and_deploys_with_entra(
    stack: str, document: Document
) -> None:
    publish = _stage_jobs(document, stack)[f"lifecycle_publish_{stack}"]
    output = f"dependencies.lifecycle_package_{stack}.outputs['target.functionAppName']"
    assert publish["dependsOn"] == f"lifecycle_package_{stack}"
    assert publish["condition"] == f"and(succeeded(), ne({output}, ''))"
    assert publish["variables"]["functionAppName"] == f"$[ {output} ]"
    assert {"checkout": "none"} in publish["steps"]
    assert {"download": "current", "artifact": f"lifecycle-{stack}"} in publish["steps"]
    step = _task(publish, "AzureCLI@2")
    assert step["inputs"]["azureSubscription"] == f"sc-mlops-{stack}"
    script = " ".join(step["inputs"]["inlineScript"].replace("\\\n", " ").split())
    assert script.startswith("set -euo pipefail ")
    assert (
        'az functionapp deployment source config-zip --resource-group "${RESOURCE_GROUP}" '
        '--name "${FUNCTION_APP}" --src "${PACKAGE}" --build-remote true' in script
    )
    assert step["env"] == {
        "FUNCTION_APP": "$(functionAppName)",
        "RESOURCE_GROUP": "$(resourceGroupName)",
        "PACKAGE": f"$(Pipeline.Workspace)/lifecycle-{stack}/lifecycle_events.zip",
    }
    assert "continueOnError" not in publish and "continueOnError" not in step  # a failure fails the stage


def test_private_stacks_publish_from_a_pool_inside_the_vnet(document: Document) -> None:
    assert _stage_jobs(document, "dev")["lifecycle_publish_dev"]["pool"] == {"vmImage": "ubuntu-24.04"}
    pools = {
        entry["name"]: entry["value"] for entry in load(REPO / pipeline_pools.TEMPLATE).data["variables"]
    }
    for stack in ("staging", "prod"):
        # The SCM site of a private stack answers only through its private endpoint: Microsoft-hosted agents
        # cannot reach it, the stack's Managed DevOps Pool in its VNet can (its name: generated pools template,
        # tests/pipelines/test_pool_names_are_compile_time.py).
        pool = _stage_jobs(document, stack)[f"lifecycle_publish_{stack}"]["pool"]
        assert pool == {"name": pools[pipeline_pools.pool_variable(stack)]}
        assert pool["name"].startswith(f"mdp-mlops-{stack}-")


def test_publishing_is_after_each_deploy_and_gates_the_next_stacks_deploy(document: Document) -> None:
    stages = _stages(document)
    assert [name for name in stages if name != "Preview"] == [
        "Deploy_dev",
        "Publish_dev",
        "Deploy_staging",
        "Publish_staging",
        "Deploy_prod",
        "Publish_prod",
    ]
    assert stages["Deploy_staging"]["dependsOn"] == ["Deploy_dev", "Publish_dev"]
    assert stages["Deploy_prod"]["dependsOn"] == ["Deploy_staging", "Publish_staging"]
    # The default condition (succeeded(): every dependency succeeded) is what makes a failed publish a stop.
    assert "condition" not in stages["Deploy_staging"] and "condition" not in stages["Deploy_prod"]


def test_the_harness_catches_a_deploy_stage_that_waits_for_a_publish_stage_that_does_not_exist(
    document: Document,
) -> None:
    broken = copy.deepcopy(document.data)
    for stage in broken["stages"]:
        if stage["stage"] == "Deploy_prod":
            stage["dependsOn"] = ["Deploy_staging", "Publish_stagin"]
    findings = template_findings(Document(path=INFRA, data=broken, kind="pipeline"))
    assert any("'Deploy_prod' dependsOn 'Publish_stagin'" in f for f in findings)


def test_the_harness_catches_a_publish_job_that_waits_for_a_job_that_does_not_exist(
    document: Document,
) -> None:
    broken = copy.deepcopy(document.data)
    for stage in broken["stages"]:
        for job in stage["jobs"]:
            if job.get("job") == "lifecycle_publish_prod":
                job["dependsOn"] = "lifecycle_packge_prod"
    findings = template_findings(Document(path=INFRA, data=broken, kind="pipeline"))
    assert any("'lifecycle_publish_prod' dependsOn 'lifecycle_packge_prod'" in f for f in findings)


def test_the_script_the_jobs_call_runs_on_the_standard_library_alone() -> None:
    # -S: no site-packages, as on an agent's system python3 without the project's environment.
    done = subprocess.run(
        [sys.executable, "-S", "-m", "functions.publish", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "{build,target}" in done.stdout
