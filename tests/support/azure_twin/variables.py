"""Stack outputs -> Azure DevOps variable group `mlops-aml-<stack>` (and GitHub environment variables).

A local stand-in, isolated here so it can be swapped for the platform's own mapping module once the cd-names
work lands (CONTRACT.md: that helper owns the mapping). It follows pipelines/README.md's variable table as
written, plus the contract's AML_AGENT_POOL; an output a stack does not export leaves its variable undefined, as
the infra pipeline's writer would, so a step that needs it meets the literal `$(NAME)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OUTPUT_OF_VARIABLE: dict[str, str] = {
    "AML_SUBSCRIPTION_ID": "subscriptionId",
    "AML_RESOURCE_GROUP": "resourceGroupName",
    "AML_WORKSPACE": "workspaceName",
    "AML_LOCATION": "location",
    "MLFLOW_TRACKING_URI": "mlflowTrackingUri",
    "AML_CPU_CLUSTER": "cpuClusterName",
    "AML_GPU_CLUSTER": "gpuClusterName",
    "AML_STORAGE_ACCOUNT": "storageAccountName",
    "AML_DATALAKE_ACCOUNT": "dataLakeAccountName",
    "AML_DATALAKE_DATASTORE": "dataLakeDatastoreName",
    "AML_KEY_VAULT": "keyVaultName",
    "AML_CONTAINER_REGISTRY": "containerRegistryName",
    "AML_CONTAINER_REGISTRY_LOGIN_SERVER": "containerRegistryLoginServer",
    "AML_APP_INSIGHTS": "applicationInsightsName",
    "AML_LOG_ANALYTICS_WORKSPACE_ID": "logAnalyticsWorkspaceId",
    "AML_REGISTRY_NAME": "amlRegistryName",
    "AML_AGENT_POOL": "agentPoolName",
}
"""Variable -> the stack output it carries."""

GROUP_PREFIX = "mlops-aml-"


def group_name(stack: str) -> str:
    return f"{GROUP_PREFIX}{stack}"


def group_variables(outputs: Mapping[str, Any]) -> dict[str, str]:
    """The variable group of a stack with `outputs` (lists are joined with commas, as the writer would)."""
    values: dict[str, str] = {}
    for variable, output in OUTPUT_OF_VARIABLE.items():
        if output in outputs:
            value = outputs[output]
            values[variable] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return values
