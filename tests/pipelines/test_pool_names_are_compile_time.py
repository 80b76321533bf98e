"""Every Azure Pipelines job that touches a stack names that stack's agent pool at compile time, from one source:
the variables template pipelines/azure-pipelines/templates/variables/pools.yml, generated from the stack files
(infra/pipeline_pools.py) and equal to the stacks' own outputs. ml.yml and infra.yml include it (infra.yml also reads
its targeted deploys' URN patterns there: tests/infra/test_agent_pool_pipelines.py); a generated project's cd.yml
includes it from the platform's repository (tests/templates/test_template_cd_as_one_system.py).

Why compile time: a pool must be known when the run is compiled. Template expressions see the variables defined in
YAML, variables templates included, but not runtime variables such as a variable group's
(https://learn.microsoft.com/azure/devops/pipelines/process/template-expressions; a variables template is a list of
name/value pairs included with `template:`,
https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/variables-template). A variable-group macro in
`pool:` is documented nowhere, and a Microsoft-hosted pool is `vmImage:` alone, without a name
(https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/pool), hence the `${{ if }}`/`${{ else }}` form.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import pipeline_pools
from infra.agents_stack import agent_pool_bootstrap_targets
from infra.errors import InvalidStackConfig
from infra.plan.engine import Plan, run_program
from infra.plan.stack_files import load_stack_config
from infra.runner_bootstrap import runner_bootstrap_targets
from pipelines.scripts import stack_variables
from pipelines.validation.documents import PIPELINES_ROOT, Document, load
from pipelines.validation.templates import expand
from tests.infra.conftest import agent_pool_name, config_of

REPO = Path(__file__).resolve().parents[2]
ML = PIPELINES_ROOT / "ml.yml"
STACKS = ("dev", "staging", "prod")
SHARING_JOBS = {"register_model", "promote"}
"""The jobs that share into the Azure ML registry: they run in the registry owner's VNet."""
ONLY_CHECKS_THE_REQUEST = {"request"}
"""cd.yml's first job checks the run's parameters and touches no stack: a hosted agent."""


def pools_template() -> dict[str, str]:
    """The committed pools template's variables, by name."""
    data = yaml.safe_load((REPO / pipeline_pools.TEMPLATE).read_text(encoding="utf-8"))
    return {entry["name"]: entry["value"] for entry in data["variables"]}


def pool_of(name: str) -> dict[str, str]:
    """What a job on the pool `name` (empty: a public stack) must say in `pool:`."""
    return {"name": name} if name else {"vmImage": stack_variables.HOSTED_IMAGE}


def expanded(path: Path, repositories: dict[str, Path] | None = None, **parameters: Any) -> dict[str, Any]:
    """`path` expanded as Azure compiles it, with `parameters` in place of their defaults."""
    document = load(path)
    specs = [
        {**spec, "default": parameters.get(spec["name"], spec.get("default"))}
        for spec in document.data.get("parameters") or []
    ]
    data = {**document.data, "parameters": specs}
    expansion = expand(
        Document(document.path, data, document.kind), superset=False, repositories=repositories
    )
    assert expansion.unresolved == [], expansion.unresolved
    return expansion.body


def jobs_off_their_stacks_pool(body: dict[str, Any]) -> list[str]:
    """`stage/job: pool` of every job in a stage that links a stack's variable group but does not run on that
    stack's pool (the registry owner's for the jobs that share into the registry), per the pools template."""
    pools = pools_template()
    wrong = []
    for stage in body["stages"]:
        groups = [v["group"] for v in stage.get("variables") or [] if isinstance(v, dict) and "group" in v]
        stacks = [g.removeprefix(stack_variables.GROUP_PREFIX) for g in groups if g.startswith("mlops-aml-")]
        for stack in stacks:
            for job in stage["jobs"]:
                name = job.get("job") or job.get("deployment")
                if name in ONLY_CHECKS_THE_REQUEST:
                    continue
                variable = (
                    pipeline_pools.registry_pool_variable(stack)
                    if name in SHARING_JOBS
                    else pipeline_pools.pool_variable(stack)
                )
                if job.get("pool") != pool_of(pools[variable]):
                    wrong.append(f"{stage['stage']}/{name}: {job.get('pool')}")
    return wrong


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    """The committed stacks under the Pulumi mock engine: what their programs export."""
    return {stack: run_program(stack, load_stack_config(REPO, stack)) for stack in STACKS}


def test_the_committed_pools_template_is_what_the_stack_files_give() -> None:
    assert pipeline_pools.main(["--check"]) == 0, "run `make pools`"
    assert (REPO / pipeline_pools.TEMPLATE).read_text(encoding="utf-8") == pipeline_pools.render(
        pipeline_pools.stack_pools()
    )


def test_each_stacks_pools_are_its_own_outputs(plans: dict[str, Plan]) -> None:
    """The real program decides the pool (agentPoolName) and its registry owner's (amlRegistryAgentPoolName): the
    template must say the same, so a rename in the stack files or in infra/naming.py fails here."""
    pools = pools_template()
    for stack, plan in plans.items():
        assert pools[pipeline_pools.pool_variable(stack)] == plan.outputs["agentPoolName"], stack
        registry = pools[pipeline_pools.registry_pool_variable(stack)]
        assert registry == plan.outputs["amlRegistryAgentPoolName"], stack
        expected = agent_pool_name(stack) if config_of(stack).is_private else ""
        assert pools[pipeline_pools.pool_variable(stack)] == expected, stack
    (owner,) = [stack for stack in STACKS if config_of(stack).create_aml_registry]
    assert {pools[pipeline_pools.registry_pool_variable(s)] for s in STACKS} == {agent_pool_name(owner)}
    assert pools[pipeline_pools.HOSTED_IMAGE_VARIABLE] == stack_variables.HOSTED_IMAGE


def test_each_stacks_targets_are_its_derivation_one_pattern_apart_by_a_space() -> None:
    """Azure Pipelines variables are strings (https://learn.microsoft.com/azure/devops/pipelines/process/variables):
    a targets variable holds the patterns separated by single spaces (a folded YAML block, one pattern a line, which
    YAML joins with spaces), and pulumi-deploy.yml splits it back into the list (tests/infra/test_agent_pool_pipelines.py)."""
    values = pools_template()
    for stack in STACKS:
        config = config_of(stack)
        for variable, patterns in (
            (pipeline_pools.bootstrap_targets_variable(stack), agent_pool_bootstrap_targets(config, stack)),
            (pipeline_pools.runner_targets_variable(stack), runner_bootstrap_targets(config, stack)),
        ):
            assert values[variable] == " ".join(patterns), variable
            assert all(pattern and " " not in pattern for pattern in patterns), variable
    assert values[pipeline_pools.runner_targets_variable("dev")] == ""
    assert (
        values[pipeline_pools.runner_targets_variable("prod")].split(" ")[0].startswith("urn:pulumi:prod::")
    )


def test_a_stack_file_switched_off_container_apps_runners_makes_the_template_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _stack_files(tmp_path)
    staging = root / "Pulumi.staging.yaml"
    data = yaml.safe_load(staging.read_text(encoding="utf-8"))
    for key in ("githubRunnerUrl", "githubAppId", "githubAppInstallationId"):
        del data["config"][f"azure-mlops:{key}"]
    data["config"]["azure-mlops:githubRunners"] = "none"
    staging.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert pipeline_pools.main(["--root", str(root), "--check"]) == 1
    assert f"{pipeline_pools.TEMPLATE} is stale" in capsys.readouterr().err
    assert pipeline_pools.main(["--root", str(root)]) == 0
    regenerated = yaml.safe_load((root / pipeline_pools.TEMPLATE).read_text(encoding="utf-8"))
    values = {entry["name"]: entry["value"] for entry in regenerated["variables"]}
    assert values[pipeline_pools.runner_targets_variable("staging")] == ""
    assert (
        values[pipeline_pools.bootstrap_targets_variable("staging")]
        == pools_template()[pipeline_pools.bootstrap_targets_variable("staging")]
    )


def _stack_files(root: Path) -> Path:
    for name in ("Pulumi.yaml", *(f"Pulumi.{stack}.yaml" for stack in STACKS)):
        shutil.copy(REPO / name, root / name)
    (root / pipeline_pools.TEMPLATE).parent.mkdir(parents=True)
    shutil.copy(REPO / pipeline_pools.TEMPLATE, root / pipeline_pools.TEMPLATE)
    return root


def test_a_stack_file_change_that_renames_a_pool_makes_the_template_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _stack_files(tmp_path)
    prod = root / "Pulumi.prod.yaml"
    prod.write_text(
        prod.read_text().replace("dev.azure.com/contoso", "dev.azure.com/fabrikam"), encoding="utf-8"
    )
    assert pipeline_pools.main(["--root", str(root), "--check"]) == 1
    assert f"{pipeline_pools.TEMPLATE} is stale" in capsys.readouterr().err
    renamed = {entry.stack: entry for entry in pipeline_pools.stack_pools(root)}
    # prod's pool is also where dev and staging share models: all three follow the rename.
    assert {renamed[s].registry_pool for s in STACKS} == {renamed["prod"].pool} != {agent_pool_name("prod")}
    assert pipeline_pools.main(["--root", str(root)]) == 0
    assert pipeline_pools.main(["--root", str(root), "--check"]) == 0


def test_a_stack_whose_name_cannot_name_a_pipeline_variable_is_refused(tmp_path: Path) -> None:
    root = _stack_files(tmp_path)
    shutil.copy(root / "Pulumi.dev.yaml", root / "Pulumi.qa-eu.yaml")
    with pytest.raises(InvalidStackConfig, match=r"stack 'qa-eu'.*letters, digits and _ only"):
        pipeline_pools.stack_pools(root)


@pytest.mark.parametrize("run_batch_scoring", [False, True])
def test_every_ml_yml_job_that_touches_a_stack_runs_on_its_pool(run_batch_scoring: bool) -> None:
    """The name is a literal once the run is compiled: nothing is left for queue time."""
    body = expanded(ML, runBatchScoring=run_batch_scoring)
    assert ("Batch_prod" in {stage["stage"] for stage in body["stages"]}) == run_batch_scoring
    assert jobs_off_their_stacks_pool(body) == []
    assert any(job.get("job") in SHARING_JOBS for stage in body["stages"] for job in stage["jobs"])
    text = ML.read_text(encoding="utf-8")
    assert "$(AML_AGENT_POOL" not in text and "parameters.pool" not in text
