"""The Databricks part of a stack: the workspace (an Azure resource) and what runs inside it.

Kept beside the stack program so that the program reads the same with the feature on or off, and so that
pulumi-databricks is imported only by stacks that set databricksEnabled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.components.databricks import DatabricksWorkspace, DatabricksWorkspaceArgs, VnetInjection
from infra.config import StackConfig
from infra.naming import ResourceNames
from infra.private_profile import DATABRICKS_CONTAINER_SUBNET, DATABRICKS_HOST_SUBNET
from infra.stack_resources import StackResources


@dataclass(frozen=True)
class DatabricksStack:
    """The stack's Databricks outputs."""

    workspace_id: pulumi.Output[str]
    """ARM ID of the Databricks workspace."""
    workspace_url: pulumi.Output[str]
    """Host name of the workspace."""
    job_id: pulumi.Output[str]
    """ID of the training job."""
    policy_id: pulumi.Output[str]
    """ID of the cluster policy."""


def build_databricks_workspace(
    config: StackConfig, names: ResourceNames, stack: StackResources, vnet_id: pulumi.Input[str] | None
) -> DatabricksWorkspace:
    """Declare the workspace linked to the AML workspace (VNet-injected on private stacks)."""
    return DatabricksWorkspace(
        "databricks",
        DatabricksWorkspaceArgs(
            resource_group_name=stack.resource_group_name,
            subscription_id=stack.subscription_id,
            location=config.location,
            workspace_name=names.databricks_workspace,
            managed_resource_group_name=names.databricks_managed_resource_group,
            aml_workspace_id=stack.workspace_id,
            tags=stack.tags,
            public_network_access=not config.is_private,
            vnet=VnetInjection(
                vnet_id=vnet_id,
                host_subnet=DATABRICKS_HOST_SUBNET,
                container_subnet=DATABRICKS_CONTAINER_SUBNET,
            )
            if vnet_id is not None
            else None,
        ),
    )


def build_databricks(
    config: StackConfig,
    stack: StackResources,
    workspace: DatabricksWorkspace,
    api_ready: Sequence[pulumi.Resource] = (),
) -> DatabricksStack:
    """Declare the policy, secret scope and job inside the workspace, once `api_ready` exists (on private
    stacks: the workspace's private endpoint and its DNS record, so that one `pulumi up` from the VNet works)."""
    from infra.components.databricks_job import DatabricksTraining, DatabricksTrainingArgs

    if (
        config.databricks_job_package is None
        or config.databricks_job_client_id is None
        or config.databricks_training_table is None
    ):
        msg = "build_databricks needs a configuration validated with databricksEnabled (package, table, client ID)"
        raise ValueError(msg)
    training = DatabricksTraining(
        "databricks-training",
        DatabricksTrainingArgs(
            workspace_url=workspace.workspace_url,
            workspace_resource_id=workspace.workspace_id,
            tenant_id=stack.tenant_id,
            mlflow_tracking_uri=stack.mlflow_tracking_uri,
            key_vault_id=stack.key_vault_id,
            key_vault_name=stack.key_vault_name,
            node_types=config.databricks_node_types,
            spark_version=config.databricks_spark_version,
            auto_termination_minutes=config.databricks_auto_termination_minutes,
            max_workers=config.databricks_max_workers,
            package=config.databricks_job_package,
            table=config.databricks_training_table,
            job_client_id=config.databricks_job_client_id,
            job_secret_name=config.databricks_job_secret_name,
            api_ready=tuple(api_ready),
        ),
    )
    return DatabricksStack(
        workspace_id=workspace.workspace_id,
        workspace_url=workspace.workspace_url,
        job_id=training.job_id,
        policy_id=training.policy_id,
    )
