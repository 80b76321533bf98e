"""The one mapping from Pulumi stack outputs to the variables pipelines and generated projects read.

The infra pipeline writes these variables into the Azure DevOps variable group `mlops-aml-<stack>` and,
when configured, into the GitHub environment `<stack>` (`publish_stack_variables`), right after the stack's
`pulumi up`. Every `$(AML_*)` or `vars.AML_*` a pipeline reads must be a variable here, and every variable here
must come from an output `infra/program.py` exports: tests/pipelines/test_stack_variables.py checks both, and
that pipelines/README.md's table lists exactly these rows. Azure Pipelines agent pools are not here: a pool must
be known when the run is compiled, before any variable group is read (infra/pipeline_pools.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from pipelines.scripts.errors import InvalidArgumentError

HOSTED_IMAGE: Final = "ubuntu-24.04"
"""The Microsoft-hosted image jobs of a public stack run on: GitHub's `runs-on` label here, and Azure Pipelines'
`vmImage` in the pools template (infra/pipeline_pools.py)."""
GROUP_PREFIX: Final = "mlops-aml-"
"""Azure DevOps variable group of a stack: `mlops-aml-<stack>`."""


def group_name(stack: str) -> str:
    """The variable group the pipelines link for `stack`.

    >>> group_name("prod")
    'mlops-aml-prod'
    """
    return GROUP_PREFIX + stack


def _text(output: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        msg = f"stack output {output} = {value!r}: expected a string"
        raise InvalidArgumentError(msg)
    if value == "[secret]":
        msg = (
            f"stack output {output} is a secret: secrets never go into variables (map them via env: instead)"
        )
        raise InvalidArgumentError(msg)
    return str(value)


def _joined(output: str, value: object) -> str:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = f"stack output {output} = {value!r}: expected a list of strings"
        raise InvalidArgumentError(msg)
    return ",".join(value)


def _runs_on(output: str, value: object) -> str:
    # The JSON `runs-on` reads with fromJSON(): the GitHub-hosted label outside any VNet (""), the runner group of
    # GitHub's private networking ({"group": ...}), or the labels of the stack's self-hosted runners (a list).
    if value == "":
        return json.dumps(HOSTED_IMAGE)
    group = value.get("group") if isinstance(value, dict) and len(value) == 1 else None
    labels = isinstance(value, list) and value and all(isinstance(label, str) and label for label in value)
    if not (isinstance(group, str) and group) and not labels:
        msg = f'stack output {output} = {value!r}: expected "", {{"group": "<name>"}} or a list of runner labels'
        raise InvalidArgumentError(msg)
    return json.dumps(value)


@dataclass(frozen=True)
class StackVariable:
    """One pipeline variable and the stack output it is written from."""

    name: str
    """Required. The variable's name, as pipelines read it (`$(NAME)`, `vars.NAME`)."""
    output: str
    """Required. The Pulumi stack output (exported by infra/program.py) it comes from."""
    used_for: str
    """Required. What reads it (the docs table's last column)."""
    value: Callable[[str, object], str] = _text
    """Optional. Turns the output's JSON value into the variable's text (default: the text as it is)."""
    github: bool = True
    """Optional. Also written to GitHub environments (False: an Azure DevOps-only variable)."""
    azure_devops: bool = True
    """Optional. Also written to Azure DevOps variable groups (False: a GitHub-only variable such as `runs-on`)."""
    rule: str = ""
    """Optional. How the value is derived when it is not the output as it is (shown in the docs table)."""


MAPPING: Final[tuple[StackVariable, ...]] = (
    StackVariable("AML_SUBSCRIPTION_ID", "subscriptionId", "`--subscription-id` of every script"),
    StackVariable("AML_RESOURCE_GROUP", "resourceGroupName", "`--resource-group` of every script"),
    StackVariable("AML_WORKSPACE", "workspaceName", "`--workspace` of every script"),
    StackVariable("AML_LOCATION", "location", "informational"),
    StackVariable("MLFLOW_TRACKING_URI", "mlflowTrackingUri", "training code logging to the workspace"),
    StackVariable("AML_CPU_CLUSTER", "cpuClusterName", "`compute:` of job and batch deployment YAML"),
    StackVariable(
        "AML_CPU_CLUSTER_MAX_NODES",
        "cpuClusterMaxNodes",
        "`max_concurrent_trials` of the training sweep and `instance_count` of batch scoring",
    ),
    StackVariable("AML_GPU_CLUSTER", "gpuClusterName", "GPU jobs (empty when disabled)"),
    StackVariable(
        "AML_GPUS_PER_NODE",
        "gpuClusterGpusPerNode",
        "`process_count_per_instance` of distributed GPU jobs (0 when disabled)",
    ),
    StackVariable("AML_STORAGE_ACCOUNT", "storageAccountName", "informational"),
    StackVariable("AML_DATALAKE_ACCOUNT", "dataLakeAccountName", "informational"),
    StackVariable(
        "AML_DATALAKE_DATASTORES",
        "dataLakeDatastoreNames",
        "the datastores `azureml://datastores/<name>/paths/...` may name",
        _joined,
        rule="joined with `,`",
    ),
    StackVariable("AML_KEY_VAULT", "keyVaultName", "informational"),
    StackVariable("AML_CONTAINER_REGISTRY", "containerRegistryName", "informational"),
    StackVariable(
        "AML_CONTAINER_REGISTRY_LOGIN_SERVER", "containerRegistryLoginServer", "custom environment images"
    ),
    StackVariable("AML_APP_INSIGHTS", "applicationInsightsName", "endpoint monitoring"),
    StackVariable(
        "AML_LOG_ANALYTICS_WORKSPACE_ID",
        "logAnalyticsWorkspaceId",
        "diagnostic settings of online endpoints (the endpoint alerts query this workspace)",
    ),
    StackVariable(
        "AML_REGISTRY_NAME", "amlRegistryName", "the registry models are shared to and deployed from"
    ),
    StackVariable(
        "AML_RUNS_ON",
        "githubRunsOn",
        "`runs-on: ${{ fromJSON(vars.AML_RUNS_ON) }}` of every GitHub job that touches the stack",
        _runs_on,
        azure_devops=False,
        rule=f'JSON: `"{HOSTED_IMAGE}"` when the output is empty, else the output (a runner group or labels)',
    ),
    StackVariable(
        "AML_REGISTRY_RUNS_ON",
        "amlRegistryGithubRunsOn",
        "`runs-on` of the GitHub job that shares into the registry (inside the registry owner's VNet)",
        _runs_on,
        azure_devops=False,
        rule=f'JSON: `"{HOSTED_IMAGE}"` when the output is empty, else the output (a runner group or labels)',
    ),
)
"""Every variable the infra pipeline writes, in the docs table's order."""

BY_NAME: Final[Mapping[str, StackVariable]] = {variable.name: variable for variable in MAPPING}


def variables_from_outputs(outputs: Mapping[str, object], *, github: bool = False) -> dict[str, str]:
    """The variables for one stack from its `pulumi stack output --json`; `github` keeps the GitHub ones.

    A missing output fails with the variable that needed it: the stack and the mapping disagree.
    """
    missing = sorted({v.output for v in MAPPING if v.output not in outputs})
    if missing:
        needed = ", ".join(v.name for v in MAPPING if v.output in missing)
        msg = f"stack outputs {', '.join(missing)} are missing (needed by {needed}): deploy the stack that exports them"
        raise InvalidArgumentError(msg)
    return {
        v.name: v.value(v.output, outputs[v.output])
        for v in MAPPING
        if (v.github if github else v.azure_devops)
    }


def markdown_table() -> str:
    """The variables table of pipelines/README.md (a test checks the README holds exactly this)."""
    rows = ["| Variable | Pulumi stack output | Used for |", "| --- | --- | --- |"]
    for v in MAPPING:
        source = f"`{v.output}`" + (f" ({v.rule})" if v.rule else "")
        where = (
            ""
            if v.github and v.azure_devops
            else " (Azure DevOps only)"
            if v.azure_devops
            else " (GitHub only)"
        )
        rows.append(f"| `{v.name}` | {source} | {v.used_for}{where} |")
    return "\n".join(rows)
