"""What a private stack's GitHub runner job needs before `pulumi up` creates it, named as the stack names it.

The Container Apps job pulls its image from the stack's registry and reads the GitHub App's key from the stack's
vault through a Key Vault reference, both when it is created (docs/github-runners.md). The infra pipeline's
runner job (templates/jobs/runner-prerequisites.yml) pushes the image and stores the key first; this script tells
it where, from the committed stack file and the service connection's subscription, exactly as the program derives
the names (infra/naming.py, infra/runner_image_tag.py), and prints them as output variables of the step:

    enabled     true when the stack runs its GitHub runners as a Container Apps job (githubRunners: container-apps)
    registry    the stack's container registry (az acr login --name)
    image       <login server>/github-actions-runner:<runner version>-<digest of infra/runner_image/>
    vault       the stack's key vault
    secretName  the vault secret the job's Key Vault reference names (githubAppKeySecretName)

    python -m pipelines.scripts.runner_prerequisites --stack staging --subscription-id <id>
"""

import argparse
import logging
from collections.abc import Sequence

from infra.aml_registry import committed_config
from infra.components.github_runners_container_apps import runner_image
from infra.config import PROJECT
from infra.naming import ResourceNames
from pipelines.scripts import ado, cli, exit_codes

logger = logging.getLogger(__name__)


def login_server(registry: str) -> str:
    """The registry's login server as Azure assigns it: the name, lower-cased, under azurecr.io."""
    return f"{registry.lower()}.azurecr.io"


def prerequisites(stack: str, subscription_id: str) -> dict[str, str]:
    """The step's output variables for `stack` in `subscription_id` (see the module's docstring)."""
    config = committed_config(stack)
    if not config.github_container_apps:
        return {"enabled": "false", "registry": "", "image": "", "vault": "", "secretName": ""}
    names = ResourceNames.for_config(config, subscription_id=subscription_id, project=PROJECT, stack=stack)
    return {
        "enabled": "true",
        "registry": names.container_registry,
        "image": runner_image(login_server(names.container_registry)),
        "vault": names.key_vault,
        "secretName": config.github_app_key_secret_name,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help="committed stack (Pulumi.<stack>.yaml)")
    parser.add_argument(
        "--subscription-id", required=True, type=cli.subscription_id, help="the stack's subscription"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    found = prerequisites(args.stack, args.subscription_id)
    for name, value in found.items():
        ado.set_variable(name, value, is_output=True)
    logger.info("Runner job prerequisites of %s: %s", args.stack, found)
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
