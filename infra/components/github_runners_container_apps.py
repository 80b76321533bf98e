"""Self-hosted GitHub runners inside the stack's VNet, in any region: an event-driven Container Apps job.

GitHub's private networking for its hosted runners serves a list of regions (infra/regions.py) that lacks
westeurope. Microsoft documents the alternative that works everywhere: GitHub Actions runners as an event-driven
Container Apps job, scaled by KEDA's `github-runner` scaler from the queue of jobs waiting for their labels, one
ephemeral runner per execution (https://learn.microsoft.com/azure/container-apps/tutorial-ci-cd-runners-jobs).
Here the job's environment is internal, on a workload-profiles plan, in a delegated subnet of the stack's VNet,
so its runners reach the stack's private endpoints; they register with a GitHub App whose private key only the
user stores, in the stack's key vault, read by a user-assigned identity through a Key Vault reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import app, managedidentity

from infra.components.access import AccessControl, AccessControlArgs, Grant
from infra.roles import BuiltInRole
from infra.runner_image_tag import image_tag

RUNNER_IMAGE_REPOSITORY = "github-actions-runner"
"""Repository of the runner image in the stack's container registry (built from infra/runner_image/)."""
RUNNER_VERSION = "2.329.0"
"""The GitHub Actions runner release the image is built from: the image's tag, and the Dockerfile's
RUNNER_VERSION (a test keeps them equal), so a new runner release is a new tag and a new job template."""
WORKLOAD_PROFILE = "Consumption"
"""The environment's one workload profile: serverless, billed per execution second, nothing when idle."""
APP_PEM_REFERENCE = "runner-app-pem"
"""The job's secret (a Key Vault reference) holding the GitHub App's private key."""
REPLICA_TIMEOUT_SECONDS = 4 * 3600
"""Longest a runner lives: the CD's longest job (training, waiting on an Azure ML job) must fit."""
POLLING_INTERVAL_SECONDS = 30
"""How often KEDA asks GitHub for queued jobs (GitHub App requests: 5,000 an hour per installation)."""
GITHUB_API = "https://api.github.com"
_URL = re.compile(r"https://github\.com/(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)(?:/(?P<repo>[A-Za-z0-9._-]+))?")


@dataclass(frozen=True)
class RunnerScope:
    """Where the runners register, as KEDA's github-runner scaler and GitHub's runner API name it."""

    owner: str
    """The organization, or the repository's owner."""
    repository: str | None
    """The repository, for repository-level runners; None for organization-level ones."""

    @classmethod
    def from_url(cls, url: str) -> RunnerScope:
        """https://github.com/<org> or https://github.com/<owner>/<repo>; anything else is refused."""
        match = _URL.fullmatch(url)
        if match is None:
            msg = (
                f"github runner URL {url!r}: must be https://github.com/<organization> or .../<owner>/<repo>"
            )
            raise ValueError(msg)
        return cls(match["owner"], match["repo"])

    def scaler_metadata(self, *, labels: str, app_id: str, installation_id: str) -> dict[str, str]:
        """The `github-runner` scale rule's metadata (https://keda.sh/docs/latest/scalers/github-runner/): the
        queue of jobs asking for `labels`, read as the GitHub App installation."""
        return {
            "githubAPIURL": GITHUB_API,
            "owner": self.owner,
            "runnerScope": "repo" if self.repository else "org",
            **({"repos": self.repository} if self.repository else {}),
            "labels": labels,
            "targetWorkflowQueueLength": "1",
            "applicationID": app_id,
            "installationID": installation_id,
        }


def runner_image(login_server: str) -> str:
    """The runner image in the stack's registry, tagged with the runner release and the digest of its build
    context (infra/runner_image_tag.py): the name the infra pipeline pushes it under."""
    return f"{login_server}/{RUNNER_IMAGE_REPOSITORY}:{image_tag(RUNNER_VERSION)}"


def key_vault_secret_url(vault_name: str, secret_name: str) -> str:
    """A versionless secret URL: Container Apps follows the newest version (so a rotated key needs no deploy)."""
    return f"https://{vault_name}.vault.azure.net/secrets/{secret_name}"


@dataclass(frozen=True, kw_only=True)
class GitHubRunnerJobsArgs:
    """The runners' environment, job and identity, and what they read."""

    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the environment, job and identity."""
    location: str
    """Required. Azure region (the VNet's)."""
    environment_name: str
    """Required. Name of the Container Apps environment."""
    job_name: str
    """Required. Name of the Container Apps job."""
    identity_name: str
    """Required. Name of the job's user-assigned identity."""
    subnet_id: pulumi.Input[str]
    """Required. The subnet delegated to Microsoft.App/environments (the environment's infrastructure subnet)."""
    key_vault_id: pulumi.Input[str]
    """Required. ARM ID of the stack's key vault, which holds the App's key."""
    key_vault_name: pulumi.Input[str]
    """Required. Name of that vault (the Key Vault reference's host)."""
    app_key_secret_name: str
    """Required. Name of the vault secret holding the GitHub App's private key (stored by the user)."""
    container_registry_id: pulumi.Input[str]
    """Required. ARM ID of the stack's container registry, which holds the runner image."""
    registry_login_server: pulumi.Input[str]
    """Required. Login server of that registry."""
    github_url: str
    """Required. The organization or repository URL the runners register with."""
    app_id: str
    """Required. The GitHub App's ID."""
    installation_id: str
    """Required. The App's installation ID in that organization or repository."""
    label: str
    """Required. The label the runners register with, which the stack's GitHub jobs select."""
    max_executions: int
    """Required. Most runners at once (1-50)."""
    subscription_id: str
    """Required. Subscription of the role definitions."""
    stack_suffix: str
    """Required. The stack's naming suffix (role assignment GUIDs)."""
    tags: dict[str, str]
    """Required. Tags of every resource."""
    egress_ready: tuple[pulumi.Resource, ...] = ()
    """Optional. What the subnet's way out needs in place before the environment is created (the egress firewall's
    default route): the environment pulls its platform images from MCR as it starts."""

    def __post_init__(self) -> None:
        RunnerScope.from_url(self.github_url)
        if not 1 <= self.max_executions <= 50:
            msg = f"GitHubRunnerJobsArgs.max_executions = {self.max_executions}: must be from 1 to 50"
            raise ValueError(msg)


def runner_grants(
    principal: pulumi.Input[str],
    key_vault_id: pulumi.Input[str],
    secret_name: str,
    registry_id: pulumi.Input[str],
) -> tuple[Grant, ...]:
    """The job's identity reads one secret's value (the App's key, not the vault's other secrets) and pulls
    images from the stack's registry; nothing else. Workflow steps can reach this identity from inside the
    runner, so it must hold no more than the runner itself needs."""
    secret_scope = pulumi.Output.concat(key_vault_id, "/secrets/", secret_name)
    return (
        Grant(
            key="github-runner-app-key-read",
            principal_id=principal,
            principal_type="ServicePrincipal",
            role=BuiltInRole.KEY_VAULT_SECRETS_USER,
            scope=secret_scope,
        ),
        Grant(
            key="github-runner-image-pull",
            principal_id=principal,
            principal_type="ServicePrincipal",
            role=BuiltInRole.ACR_PULL,
            scope=registry_id,
        ),
    )


class GitHubRunnerJobs(pulumi.ComponentResource):
    """Ephemeral self-hosted GitHub runners: one Container Apps job execution per queued GitHub job."""

    runs_on: pulumi.Output[list[str]]
    """What a GitHub job's `runs-on` names to run on these runners: `["self-hosted", <label>]`."""
    label: pulumi.Output[str]
    """The stack's runner label."""
    job_id: pulumi.Output[str]
    """ARM ID of the Container Apps job."""
    image: pulumi.Output[str]
    """The runner image the job pulls (built from infra/runner_image/, pushed from inside the VNet)."""
    environment_id: pulumi.Output[str]
    """ARM ID of the Container Apps environment: its logs' diagnostic setting is the stack's Governance's."""

    def __init__(
        self, name: str, args: GitHubRunnerJobsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:cicd:GitHubRunnerJobs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        grants = AccessControl(
            f"{name}-access",
            AccessControlArgs(
                subscription_id=args.subscription_id,
                stack_suffix=args.stack_suffix,
                grants=runner_grants(
                    identity.principal_id,
                    args.key_vault_id,
                    args.app_key_secret_name,
                    args.container_registry_id,
                ),
            ),
            opts=child,
        )
        environment = app.ManagedEnvironment(
            f"{name}-environment",
            environment_name=args.environment_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # Internal: no public endpoint; the job has no ingress anyway. Workload profiles: the environment type
            # whose subnet may be a /27 and whose egress may go through a NAT gateway.
            vnet_configuration=app.VnetConfigurationArgs(
                infrastructure_subnet_id=args.subnet_id, internal=True
            ),
            workload_profiles=[
                app.WorkloadProfileArgs(name=WORKLOAD_PROFILE, workload_profile_type=WORKLOAD_PROFILE)
            ],
            public_network_access="Disabled",
            # Logs go to Azure Monitor, and from there through the diagnostic setting the stack's Governance puts on
            # `environment_id` (as on every resource that logs): no shared key in the configuration.
            app_logs_configuration=app.AppLogsConfigurationArgs(destination="azure-monitor"),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.egress_ready)),
        )
        scope = RunnerScope.from_url(args.github_url)
        image = pulumi.Output.from_input(args.registry_login_server).apply(runner_image)
        job = app.Job(
            f"{name}-job",
            job_name=args.job_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            environment_id=environment.id,
            workload_profile_name=WORKLOAD_PROFILE,
            identity=app.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[identity.id]
            ),
            configuration=app.JobConfigurationArgs(
                trigger_type="Event",
                replica_timeout=REPLICA_TIMEOUT_SECONDS,
                # A failed runner is not retried: its GitHub job fails, and a new queued job starts a new runner.
                replica_retry_limit=0,
                event_trigger_config=app.JobConfigurationEventTriggerConfigArgs(
                    parallelism=1,
                    replica_completion_count=1,
                    scale=app.JobScaleArgs(
                        min_executions=0,
                        max_executions=args.max_executions,
                        polling_interval=POLLING_INTERVAL_SECONDS,
                        rules=[
                            app.JobScaleRuleArgs(
                                name="github-runner",
                                type="github-runner",
                                metadata=scope.scaler_metadata(
                                    labels=args.label,
                                    app_id=args.app_id,
                                    installation_id=args.installation_id,
                                ),
                                auth=[
                                    app.ScaleRuleAuthArgs(
                                        secret_ref=APP_PEM_REFERENCE, trigger_parameter="appKey"
                                    )
                                ],
                            )
                        ],
                    ),
                ),
                # The key is a Key Vault reference resolved with the user-assigned identity: never a value here.
                secrets=[
                    app.SecretArgs(
                        name=APP_PEM_REFERENCE,
                        key_vault_url=pulumi.Output.from_input(args.key_vault_name).apply(
                            lambda vault: key_vault_secret_url(vault, args.app_key_secret_name)
                        ),
                        identity=identity.id,
                    )
                ],
                registries=[
                    app.RegistryCredentialsArgs(server=args.registry_login_server, identity=identity.id)
                ],
            ),
            template=app.JobTemplateArgs(
                containers=[
                    app.ContainerArgs(
                        name="runner",
                        image=image,
                        resources=app.ContainerResourcesArgs(cpu=2.0, memory="4Gi"),
                        env=[
                            app.EnvironmentVarArgs(name="GITHUB_URL", value=args.github_url),
                            app.EnvironmentVarArgs(name="GITHUB_APP_ID", value=args.app_id),
                            app.EnvironmentVarArgs(
                                name="GITHUB_APP_INSTALLATION_ID", value=args.installation_id
                            ),
                            app.EnvironmentVarArgs(name="RUNNER_LABELS", value=args.label),
                            app.EnvironmentVarArgs(name="GITHUB_APP_KEY", secret_ref=APP_PEM_REFERENCE),
                        ],
                    )
                ]
            ),
            tags=args.tags,
            # The secret reference and the image pull need the grants in place when the job is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(grants.assignments.values())),
        )
        self.label = pulumi.Output.from_input(args.label)
        self.runs_on = self.label.apply(lambda label: ["self-hosted", label])
        self.job_id = job.id
        self.image = image
        self.environment_id = environment.id
        self.register_outputs(
            {
                "runs_on": self.runs_on,
                "label": self.label,
                "job_id": self.job_id,
                "image": self.image,
                "environment_id": self.environment_id,
            }
        )
