"""Inside the Databricks workspace: the cluster policy, the Key Vault-backed secret scope and the training job.

These are Databricks objects, not Azure resources: pulumi-databricks creates them through the workspace's
REST API, with a provider configured from the workspace this stack creates. The provider signs in with the
deployer's own Azure identity (Azure CLI, managed identity or workload identity federation in CI): no
personal access token exists anywhere in the configuration. Only stacks with Databricks import this module,
so the others never pay pulumi-databricks' import time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_databricks as dbx

AZUREML_MLFLOW = "azureml-mlflow==1.62.0.post6"
"""The MLflow plugin that tracks to Azure ML; the version the platform locks (uv.lock) and the template pins."""
WORKSPACE_ROOT = "/Workspace/Shared/azure-mlops"
"""Where each project's bundle deploys: <root>/<package>/files/... (the template's databricks/databricks.yml)."""
ENTRY_POINT = "files/databricks/train_job.py"
"""The generated project's Databricks entry point, relative to its bundle root."""
REQUIREMENTS = "files/databricks/requirements.txt"
"""The project's pinned dependencies, relative to its bundle root."""
JOB_CLUSTER_KEY = "train"
KEY_VAULT_SCOPE = "azure-mlops-keyvault"
"""Name of the Key Vault-backed secret scope in the workspace."""


@dataclass(frozen=True, kw_only=True)
class DatabricksTrainingArgs:
    workspace_url: pulumi.Input[str]
    """Required. Host name of the workspace (adb-<id>.<n>.azuredatabricks.net)."""
    workspace_resource_id: pulumi.Input[str]
    """Required. ARM ID of the workspace: the provider exchanges the deployer's Azure token for it."""
    tenant_id: str
    """Required. Entra tenant of the job's service principal."""
    mlflow_tracking_uri: pulumi.Input[str]
    """Required. The AML workspace's azureml:// tracking URI: runs and models land there."""
    key_vault_id: pulumi.Input[str]
    """Required. ARM ID of the stack's key vault, the secret scope's backend."""
    key_vault_name: pulumi.Input[str]
    """Required. Name of that vault (its DNS name is https://<name>.vault.azure.net/)."""
    node_types: tuple[str, ...]
    """Required. VM sizes the cluster policy allows; the job cluster uses the first."""
    spark_version: str
    """Required. Pinned Databricks Runtime of every policy cluster."""
    auto_termination_minutes: int
    """Required. Idle minutes before an interactive cluster stops (10-120)."""
    max_workers: int
    """Required. Most workers a policy cluster may autoscale to."""
    package: str
    """Required. Python package of the generated project whose entry point the job runs."""
    table: str
    """Required. Table the job trains on (catalog.schema.table): the entry point's `--table`."""
    job_client_id: str
    """Required. Application (client) ID of the service principal the job runs as."""
    job_secret_name: str
    """Required. Key Vault secret with that service principal's client secret."""
    api_ready: Sequence[pulumi.Resource] = ()
    """Optional. What must exist before anything calls the workspace's API. On a private stack: the
    workspace's private endpoint, its DNS record and the zone's VNet link, without which `pulumi up` on an
    agent in the VNet cannot reach (or resolve) the workspace it just created."""

    def __post_init__(self) -> None:
        if not self.node_types:
            msg = "DatabricksTrainingArgs.node_types: must list at least one VM size"
            raise ValueError(msg)
        if not 1 <= self.max_workers <= 50:
            msg = f"DatabricksTrainingArgs.max_workers = {self.max_workers}: must be 1-50"
            raise ValueError(msg)


def policy_definition(args: DatabricksTrainingArgs) -> dict[str, dict[str, object]]:
    """The cluster policy: pinned runtime, allowed node types, bounded autoscaling, idle stop, single user.

    Clusters get no public IP from the workspace itself (secure cluster connectivity): Azure has no
    per-cluster setting for it. The policy forbids SSH keys, the only other way onto a node.
    """
    nodes = list(args.node_types)
    return {
        "spark_version": {"type": "fixed", "value": args.spark_version},
        "node_type_id": {"type": "allowlist", "values": nodes, "defaultValue": nodes[0]},
        "driver_node_type_id": {"type": "allowlist", "values": nodes, "defaultValue": nodes[0]},
        "autotermination_minutes": {
            "type": "range",
            "minValue": 10,
            "maxValue": args.auto_termination_minutes,
            "defaultValue": args.auto_termination_minutes,
        },
        "autoscale.min_workers": {"type": "range", "minValue": 1, "maxValue": 1, "defaultValue": 1},
        "autoscale.max_workers": {
            "type": "range",
            "minValue": 1,
            "maxValue": args.max_workers,
            "defaultValue": args.max_workers,
        },
        "num_workers": {"type": "range", "minValue": 0, "maxValue": args.max_workers},
        # Dedicated (single user) access mode: a cluster runs as one identity, e.g. the job's principal.
        "data_security_mode": {"type": "fixed", "value": "SINGLE_USER"},
        "ssh_public_keys.*": {"type": "forbidden"},
        "init_scripts.*.dbfs.destination": {"type": "forbidden"},
        "custom_tags.platform": {"type": "fixed", "value": "azure-mlops"},
    }


def task_parameters(table: str) -> list[str]:
    """The entry point's command line: the table to train on; hyperparameters come from the search."""
    return ["--table", table]


def secret_reference(secret_name: str) -> str:
    """How a cluster environment variable refers to a secret of the scope (resolved at cluster start)."""
    return "{{secrets/" + KEY_VAULT_SCOPE + "/" + secret_name + "}}"


class DatabricksTraining(pulumi.ComponentResource):
    """A governed training job in the workspace that tracks to, and registers in, the AML workspace.

    The job uses the whole cluster: Spark reads the configured table, the workers cross-validate the
    hyperparameter candidates (one Spark task each), and the driver trains the best one with the project's
    own pipeline, gates it and registers it (the template's databricks/train_job.py).

    The job's cluster must use the policy; it runs as a service principal (never as the deployer) whose
    client secret stays in the stack's key vault and reaches the cluster through the Key Vault-backed scope.
    MLflow points at the AML workspace, and azureml-mlflow is installed from PyPI, pinned.

    Azure limitation: creating a Key Vault-backed secret scope needs a Microsoft Entra ID token, so `pulumi up`
    must run as an Entra user or a service principal (accepted since 2023; a Databricks personal access token
    is refused), and on an RBAC vault the AzureDatabricks application must hold Key Vault Secrets User to read
    (the stack grants it: azureDatabricksPrincipalId).
    """

    policy_id: pulumi.Output[str]
    """ID of the cluster policy."""
    job_id: pulumi.Output[str]
    """Numeric ID of the training job."""
    secret_scope: pulumi.Output[str]
    """Name of the Key Vault-backed secret scope."""

    def __init__(
        self, name: str, args: DatabricksTrainingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:databricks:DatabricksTraining", name, None, opts)
        ready = list(args.api_ready)
        provider = dbx.Provider(
            f"{name}-provider",
            host=pulumi.Output.from_input(args.workspace_url).apply(lambda url: f"https://{url}"),
            azure_workspace_resource_id=args.workspace_resource_id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )
        # Every object is created through the workspace's API: each waits for the endpoint and its DNS record.
        child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=ready)

        policy = dbx.ClusterPolicy(
            f"{name}-policy",
            name=f"{name} training",
            description="azure-mlops: pinned runtime, allowed node types, bounded autoscaling, idle stop.",
            definition=json.dumps(policy_definition(args), sort_keys=True),
            opts=child,
        )
        # Creating a Key Vault-backed scope needs a Microsoft Entra ID token: `pulumi up` must run as an Entra
        # user or a service principal (supported since 2023), never with a Databricks personal access token.
        scope = dbx.SecretScope(
            f"{name}-secret-scope",
            name=KEY_VAULT_SCOPE,
            backend_type="AZURE_KEYVAULT",
            keyvault_metadata=dbx.SecretScopeKeyvaultMetadataArgs(
                resource_id=args.key_vault_id,
                dns_name=pulumi.Output.from_input(args.key_vault_name).apply(
                    lambda vault: f"https://{vault}.vault.azure.net/"
                ),
            ),
            opts=child,
        )
        principal = dbx.ServicePrincipal(
            f"{name}-job-principal",
            application_id=args.job_client_id,
            display_name=f"{name} job",
            # It runs jobs on policy clusters; it creates no clusters and has no workspace UI.
            allow_cluster_create=False,
            workspace_access=False,
            opts=child,
        )
        dbx.Permissions(
            f"{name}-policy-use",
            cluster_policy_id=policy.id,
            access_controls=[
                dbx.PermissionsAccessControlArgs(
                    service_principal_name=principal.application_id, permission_level="CAN_USE"
                )
            ],
            opts=child,
        )
        dbx.SecretAcl(
            f"{name}-scope-read",
            scope=scope.name,
            principal=principal.application_id,
            permission="READ",
            opts=child,
        )
        root = f"{WORKSPACE_ROOT}/{args.package}"
        job = dbx.Job(
            f"{name}-job",
            name=f"{args.package}-train",
            description=(
                f"Reads {args.table} with Spark, searches hyperparameters on the workers, trains {args.package}'s "
                "best candidate, tracking and registering in the AML workspace."
            ),
            max_concurrent_runs=1,
            timeout_seconds=4 * 3600,
            run_as=dbx.JobRunAsArgs(service_principal_name=principal.application_id),
            job_clusters=[
                dbx.JobJobClusterArgs(
                    job_cluster_key=JOB_CLUSTER_KEY,
                    new_cluster=dbx.JobJobClusterNewClusterArgs(
                        policy_id=policy.id,
                        apply_policy_default_values=True,
                        spark_version=args.spark_version,
                        node_type_id=args.node_types[0],
                        data_security_mode="SINGLE_USER",
                        autoscale=dbx.JobJobClusterNewClusterAutoscaleArgs(
                            min_workers=1, max_workers=args.max_workers
                        ),
                        spark_env_vars={
                            "MLFLOW_TRACKING_URI": args.mlflow_tracking_uri,
                            # azure-identity's environment credential: the job's own principal.
                            "AZURE_TENANT_ID": args.tenant_id,
                            "AZURE_CLIENT_ID": args.job_client_id,
                            "AZURE_CLIENT_SECRET": secret_reference(args.job_secret_name),
                        },
                    ),
                )
            ],
            tasks=[
                dbx.JobTaskArgs(
                    task_key="train",
                    job_cluster_key=JOB_CLUSTER_KEY,
                    spark_python_task=dbx.JobTaskSparkPythonTaskArgs(
                        python_file=f"{root}/{ENTRY_POINT}",
                        source="WORKSPACE",
                        parameters=task_parameters(args.table),
                    ),
                    libraries=[
                        dbx.JobTaskLibraryArgs(pypi=dbx.JobTaskLibraryPypiArgs(package=AZUREML_MLFLOW)),
                        dbx.JobTaskLibraryArgs(requirements=f"{root}/{REQUIREMENTS}"),
                    ],
                    max_retries=0,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*ready, scope]),
        )
        self.policy_id = policy.id
        self.job_id = job.id
        self.secret_scope = scope.name
        self.register_outputs({"policy_id": policy.id, "job_id": job.id, "secret_scope": scope.name})
