"""Stack outputs -> Azure DevOps variable group `mlops-aml-<stack>` (and GitHub environment variables).

The platform's own mapping (`pipelines.scripts.stack_variables.variables_from_outputs`, owned by the cd-names
work) is used as soon as it exists in the checkout; until then, a local stand-in that follows the decisions
recorded for it in CONTRACT.md. Swapping needs no change here: the import decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GROUP_PREFIX = "mlops-aml-"
HOSTED_POOL = "Azure Pipelines"
HOSTED_IMAGE = "ubuntu-24.04"

OUTPUT_OF_VARIABLE: dict[str, str] = {
    "AML_SUBSCRIPTION_ID": "subscriptionId",
    "AML_RESOURCE_GROUP": "resourceGroupName",
    "AML_WORKSPACE": "workspaceName",
    "AML_LOCATION": "location",
    "MLFLOW_TRACKING_URI": "mlflowTrackingUri",
    "AML_CPU_CLUSTER": "cpuClusterName",
    "AML_CPU_CLUSTER_MAX_NODES": "cpuClusterMaxNodes",
    "AML_GPU_CLUSTER": "gpuClusterName",
    "AML_STORAGE_ACCOUNT": "storageAccountName",
    "AML_DATALAKE_ACCOUNT": "dataLakeAccountName",
    "AML_DATALAKE_DATASTORES": "dataLakeDatastoreNames",
    "AML_KEY_VAULT": "keyVaultName",
    "AML_CONTAINER_REGISTRY": "containerRegistryName",
    "AML_CONTAINER_REGISTRY_LOGIN_SERVER": "containerRegistryLoginServer",
    "AML_APP_INSIGHTS": "applicationInsightsName",
    "AML_LOG_ANALYTICS_WORKSPACE_ID": "logAnalyticsWorkspaceId",
    "AML_REGISTRY_NAME": "amlRegistryName",
    "AML_AGENT_POOL": "agentPoolName",
    "AML_AGENT_VM_IMAGE": "agentPoolName",
}
"""The local stand-in: variable -> the stack output it carries."""
AZURE_DEVOPS_ONLY = ("AML_AGENT_POOL", "AML_AGENT_VM_IMAGE")


def group_name(stack: str) -> str:
    return f"{GROUP_PREFIX}{stack}"


def _local(outputs: Mapping[str, Any], *, github: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    for variable, output in OUTPUT_OF_VARIABLE.items():
        if output not in outputs or (github and variable in AZURE_DEVOPS_ONLY):
            continue  # the writer cannot fill it: the pipeline then meets the literal $(NAME)
        value = outputs[output]
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        if variable == "AML_AGENT_POOL":
            text = text or HOSTED_POOL
        elif variable == "AML_AGENT_VM_IMAGE":
            text = "" if text else HOSTED_IMAGE
        values[variable] = text
    return values


def mapping() -> dict[str, str]:
    """Variable -> stack output: the platform's mapping when present, else the stand-in."""
    try:
        from pipelines.scripts.stack_variables import MAPPING
    except ImportError:
        return dict(OUTPUT_OF_VARIABLE)
    return {variable.name: variable.output for variable in MAPPING}


def group_variables(outputs: Mapping[str, Any], *, github: bool = False) -> dict[str, str]:
    """The variables one stack's outputs give pipelines (`github`: the GitHub environment's)."""
    try:
        from pipelines.scripts.stack_variables import variables_from_outputs
    except ImportError:
        return _local(outputs, github=github)
    return variables_from_outputs(outputs, github=github)
