"""The GitHub runner jobs' egress allow-list: every host a private stack's Container Apps runner environment may
reach outside the VNet, by host name, with who documents the need. The egress firewall (infra/agent_egress.py)
enforces it for the `github-runner-jobs` subnet as it does the build agents' list for theirs.

Three sources, nothing else:

- Container Apps itself, behind Azure Firewall with user-defined routes (CONTAINER_APPS_FIREWALL_SOURCE): the
  platform's images and binaries, and Entra ID for the job's managed identity. The page's ACR and Key Vault rows
  name the registry's and the vault's own hosts: the stack reaches both through their private endpoints in the
  VNet, so no route to the firewall applies to them; their `login.microsoft.com` stays.
- GitHub's self-hosted runner communication (GITHUB_RUNNER_SOURCE): essential operations, downloading actions, and
  job logs, artifacts and caches. Not "runner version updates": the image pins the runner release and registers
  with `--disableupdate` (infra/runner_image/entrypoint.sh), so it never downloads a new one. Not GitHub Packages,
  Git LFS or Dependabot: no job on these runners uses them.
- What the generated project's GitHub jobs call (its `.github/workflows` and `.github/actions/azure-python`):
  `actions/setup-python` fetches a CPython build from GitHub's releases, `make setup` installs uv and the lock
  from PyPI, and `azure/login` and the pipeline scripts call ARM and Azure ML.
"""

from __future__ import annotations

from infra.components.egress_firewall import HostRule

CONTAINER_APPS_FIREWALL_SOURCE = "https://learn.microsoft.com/azure/container-apps/use-azure-firewall"
GITHUB_RUNNER_SOURCE = (
    "https://docs.github.com/en/actions/reference/runners/self-hosted-runners#accessible-domains-by-function"
)

RUNNER_EGRESS_HOSTS: tuple[HostRule, ...] = (
    HostRule(
        name="container-apps-platform",
        hosts=(
            "mcr.microsoft.com",
            "*.data.mcr.microsoft.com",
            "packages.aks.azure.com",
            "acs-mirror.azureedge.net",
        ),
        why="Container Apps (all scenarios): Microsoft Container Registry, and the AKS and Azure CNI binaries",
    ),
    HostRule(
        name="container-apps-identity",
        hosts=(
            "*.identity.azure.net",
            "login.microsoftonline.com",
            "*.login.microsoftonline.com",
            "*.login.microsoft.com",
            "login.microsoft.com",
        ),
        why="Container Apps: the job's managed identity (Key Vault reference, image pulls) signs in with Entra ID",
    ),
    HostRule(
        name="github-actions",
        hosts=(
            "github.com",
            "api.github.com",
            "*.actions.githubusercontent.com",
            "codeload.github.com",
            "pkg.actions.githubusercontent.com",
        ),
        why="GitHub runner: registration, jobs, OIDC tokens (essential operations); downloading actions",
    ),
    HostRule(
        name="github-results",
        hosts=("results-receiver.actions.githubusercontent.com", "*.blob.core.windows.net"),
        why="GitHub runner: job summaries, logs, workflow artifacts and caches",
    ),
    HostRule(
        name="python-builds",
        hosts=("objects.githubusercontent.com", "release-assets.githubusercontent.com"),
        why="actions/setup-python: the CPython build it downloads from actions/python-versions' GitHub releases",
    ),
    HostRule(
        name="python-packages",
        hosts=("pypi.org", "files.pythonhosted.org"),
        why="make setup: uv itself (pip install uv) and every locked package uv sync installs",
    ),
    HostRule(
        name="azure-arm-ml",
        hosts=("management.azure.com", "*.api.azureml.ms"),
        why="azure/login and the pipeline scripts: ARM; the Azure ML regional API (MLflow, discovery)",
    ),
)
"""The allow-list, per need (module docstring). Entra ID is on the managed identity rule: `azure/login` and the
pipeline scripts' DefaultAzureCredential sign in at login.microsoftonline.com too."""
