"""Register a model version in the workspace and share it to an Azure ML registry.

Promotion across environments shares one registered model through the registry instead of retraining in
each environment. Output variables: `modelName`, `modelVersion`, `modelUri` (workspace) and, when shared,
`registryModelUri` (`azureml://registries/<registry>/models/<name>/versions/<version>`).

    python -m pipelines.scripts.model_register --subscription-id ... --resource-group ... --workspace ... \
        --name churn-model (--job-name <job> [--job-output model] | --path <uri>) \
        [--model-type mlflow_model] [--tag key=value ...] [--registry <amlRegistryName>]
"""

import argparse
import logging
from collections.abc import Sequence

from pipelines.scripts import ado, aml_client, cli, exit_codes
from pipelines.scripts.aml_boundary import ModelsApi
from pipelines.scripts.errors import DeploymentError

logger = logging.getLogger(__name__)

MODEL_TYPES = ("mlflow_model", "custom_model", "triton_model")


def _tag(value: str) -> tuple[str, str]:
    key, sep, tag_value = value.partition("=")
    if not sep or not key.strip():
        msg = f"{value!r} must look like key=value"
        raise argparse.ArgumentTypeError(msg)
    return key.strip(), tag_value


def _optional_asset_name(value: str) -> str:
    # Empty means "not configured" (amlRegistryName is blank until the registry exists).
    return value if value == "" else cli.asset_name(value)


def model_path(*, job_name: str | None, job_output: str, path: str | None) -> str:
    """The model's source: a job's named output, or an explicit path/URI."""
    if path is not None:
        return path
    return f"azureml://jobs/{job_name}/outputs/{job_output}"


SOURCE_TAG = "source"
"""Tag naming where a version came from (`azureml://jobs/<job>/outputs/<output>` or the path given): the
registry copy keeps its workspace version's tags, so a registry version can be traced to one training job."""


def check_registry_copy(
    existing: dict[str, str], *, registry: str, name: str, version: str, source: str
) -> None:
    """Refuse to reuse a registry version that holds another model than the candidate from `source`."""
    found = existing.get(SOURCE_TAG)
    if found != source:
        what = f"from {found}" if found else f"without a {SOURCE_TAG!r} tag"
        msg = (
            f"registry {registry} already has {name}:{version} {what}, but the candidate comes from {source}: "
            "registry versions are immutable, so sharing would leave the old model under this version "
            "(the dev workspace's versions restart at 1 after a rebuild). Share under a new version with "
            "--registry-model-version, or archive the registry's copy after checking it"
        )
        raise DeploymentError(msg)


def register_and_share(api: ModelsApi, args: argparse.Namespace) -> dict[str, str]:
    """Register, then share unless the registry already holds that version of the same model; return the
    output variables. A registry version that holds another model fails before anything is shared."""
    source = model_path(job_name=args.job_name, job_output=args.job_output, path=args.path)
    tags = dict(args.tag)
    if args.job_name:
        tags.setdefault("source_job", args.job_name)
    tags[SOURCE_TAG] = source
    version = api.register_model(
        name=args.name, path=source, model_type=args.model_type, description=args.description, tags=tags
    )
    logger.info("Registered %s:%s from %s", args.name, version, source)
    outputs = {"modelName": args.name, "modelVersion": version, "modelUri": f"azureml:{args.name}:{version}"}
    if not args.registry:
        logger.info("No registry given: model stays in workspace %s", args.workspace)
        return outputs
    shared_name = args.registry_model_name or args.name
    shared_version = args.registry_model_version or version
    existing = api.registry_model_tags(registry=args.registry, name=shared_name, version=shared_version)
    if existing is not None:
        # Registry versions are immutable: a re-run must not fail on the copy it already made, but a copy of
        # another model under this version must never be deployed as this one.
        check_registry_copy(
            existing, registry=args.registry, name=shared_name, version=shared_version, source=source
        )
        logger.info(
            "Registry %s already has %s:%s from %s", args.registry, shared_name, shared_version, source
        )
    else:
        api.share_model(
            name=args.name,
            version=version,
            registry=args.registry,
            registry_name=shared_name,
            registry_version=shared_version,
        )
        logger.info("Shared %s:%s to registry %s", shared_name, shared_version, args.registry)
    outputs["registryModelUri"] = (
        f"azureml://registries/{args.registry}/models/{shared_name}/versions/{shared_version}"
    )
    return outputs


def build_parser() -> argparse.ArgumentParser:
    parser = cli.workspace_parser(__doc__)
    parser.add_argument("--name", required=True, type=cli.asset_name, help="model name")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--job-name", type=cli.job_name, help="training job whose output holds the model")
    source.add_argument("--path", help="explicit model path or azureml:// URI")
    parser.add_argument("--job-output", type=cli.asset_name, default="model", help="with --job-name")
    parser.add_argument("--model-type", choices=MODEL_TYPES, default="mlflow_model")
    parser.add_argument("--description", default="")
    parser.add_argument("--tag", type=_tag, action="append", default=[], help="key=value, repeatable")
    parser.add_argument("--registry", type=_optional_asset_name, default="", help="amlRegistryName")
    parser.add_argument("--registry-model-name", type=_optional_asset_name, default="")
    parser.add_argument("--registry-model-version", default="", help="default: the workspace version")
    return parser


def main(argv: Sequence[str] | None = None, api: ModelsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    outputs = register_and_share(api or aml_client.from_args(args), args)
    for name, value in outputs.items():
        ado.set_variable(name, value, is_output=True)
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
