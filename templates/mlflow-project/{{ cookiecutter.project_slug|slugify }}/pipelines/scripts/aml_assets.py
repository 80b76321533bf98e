"""Create or update what CD uses in a workspace, idempotently, before anything trains or deploys.

In this order (each part only when its argument is given):

1. `--provision-network`: provision the workspace's managed network now, when it has one, so the first compute
   or deployment does not fail or wait on it. Provisioning a provisioned network changes nothing.
2. `--environment aml/environment.yml [--requirements requirements.txt]`: register the environment at a version
   derived from its content: the image and the conda file, whose pip section is replaced by `--requirements`
   (the project's lock, `uv export`). A changed pin gives a new version; the same content gives the same version,
   which is then not registered again. Publishes `environmentUri` (`azureml:<name>:<version>`) for the job.
3. `--online-endpoint aml/online/endpoint.yml`, `--batch-endpoint aml/batch/endpoint.yml`: create a missing
   endpoint; update one whose settings in the YAML differ (keeping its traffic split or default deployment);
   leave an equal one alone.

    python -m pipelines.scripts.aml_assets --subscription-id ... --resource-group ... --workspace ... \
        [--provision-network] [--environment aml/environment.yml [--requirements req.txt]] \
        [--online-endpoint aml/online/endpoint.yml] [--batch-endpoint aml/batch/endpoint.yml]
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.scripts import ado, cli, exit_codes
from pipelines.scripts.aml_boundary import WorkspaceAssetsApi
from pipelines.scripts.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

NO_MANAGED_NETWORK = "Disabled"
ONLINE_ENDPOINT_SETTINGS = ("description", "auth_mode", "public_network_access", "tags")
BATCH_ENDPOINT_SETTINGS = ("description", "tags")
# The workspace defaults Azure ML applies when the YAML leaves a setting out.
_ONLINE_DEFAULTS = {"description": "", "auth_mode": "key", "public_network_access": "enabled", "tags": {}}
_BATCH_DEFAULTS = {"description": "", "tags": {}}


def _yaml_mapping(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(cli.read_text(path, "spec"))
    except yaml.YAMLError as err:
        msg = f"{path}: not YAML ({err})"
        raise InvalidArgumentError(msg) from err
    if not isinstance(document, dict):
        msg = f"{path}: expected a YAML mapping"
        raise InvalidArgumentError(msg)
    return document


def requirement_lines(text: str) -> list[str]:
    """The pinned requirements of a `uv export` / pip requirements file, without comments and options.

    >>> requirement_lines("# via x\\nmlflow==3.15.0 \\\\\\n    --hash=sha256:ab\\n-e .\\nnumpy==2.3.0 ; python_version >= '3.11'\\n")
    ['mlflow==3.15.0', "numpy==2.3.0 ; python_version >= '3.11'"]
    """
    lines = []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        lines.append(line.split(" --hash", 1)[0].strip())
    return lines


@dataclass(frozen=True)
class EnvironmentBuild:
    """The environment CD registers: its name, the conda file it is built from, and the version that content gets."""

    name: str
    image: str
    conda: dict[str, Any]

    @property
    def conda_text(self) -> str:
        return yaml.safe_dump(self.conda, sort_keys=True)

    @property
    def version(self) -> str:
        """16 hex digits of SHA-256 over the image and the conda file: equal content, equal version."""
        digest = hashlib.sha256(f"{self.image}\n{self.conda_text}".encode()).hexdigest()
        return digest[:16]

    @property
    def uri(self) -> str:
        return f"azureml:{self.name}:{self.version}"


def environment_build(spec: Path, requirements: Path | None) -> EnvironmentBuild:
    """Read aml/environment.yml and its conda file; with `requirements`, those pins replace the conda pip list."""
    document = _yaml_mapping(spec)
    missing = [key for key in ("name", "image", "conda_file") if not document.get(key)]
    if missing:
        msg = f"{spec}: {missing} missing: CD builds image + conda_file environments only"
        raise InvalidArgumentError(msg)
    conda = _yaml_mapping(spec.parent / str(document["conda_file"]))
    if requirements is not None:
        pins = requirement_lines(cli.read_text(requirements, "--requirements"))
        if not pins:
            msg = f"--requirements {requirements}: no pinned requirement in it"
            raise InvalidArgumentError(msg)
        dependencies = [d for d in conda.get("dependencies", []) if not isinstance(d, dict)]
        conda = {**conda, "dependencies": [*dependencies, {"pip": pins}]}
    return EnvironmentBuild(name=str(document["name"]), image=str(document["image"]), conda=conda)


def ensure_environment(api: WorkspaceAssetsApi, spec: Path, requirements: Path | None) -> str:
    """Register the environment at its content version unless that version exists; return its URI."""
    build = environment_build(spec, requirements)
    if api.environment_exists(build.name, build.version):
        logger.info("Environment %s is registered already (same content)", build.uri)
        return build.uri
    with tempfile.TemporaryDirectory() as folder:
        conda_file = Path(folder) / "conda.yml"
        conda_file.write_text(build.conda_text)
        api.create_environment(spec, version=build.version, conda_file=conda_file)
    logger.info("Registered environment %s", build.uri)
    return build.uri


def _wanted(spec: Path, keys: Sequence[str], defaults: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    document = _yaml_mapping(spec)
    if not document.get("name"):
        msg = f"{spec}: the endpoint has no name"
        raise InvalidArgumentError(msg)
    name = cli.endpoint_name(str(document["name"]))
    return name, {key: document.get(key, defaults[key]) or defaults[key] for key in keys}


def _differences(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return sorted(key for key, value in wanted.items() if (current.get(key) or _default(key)) != value)


def _default(key: str) -> Any:
    return {**_ONLINE_DEFAULTS, **_BATCH_DEFAULTS}[key]


def ensure_online_endpoint(api: WorkspaceAssetsApi, spec: Path) -> str:
    """Create the endpoint, or update the settings that differ from `spec`; return what was done."""
    name, wanted = _wanted(spec, ONLINE_ENDPOINT_SETTINGS, _ONLINE_DEFAULTS)
    current = api.online_endpoint(name)
    if current is None:
        api.apply_online_endpoint(spec, traffic={})
        return f"created online endpoint {name}"
    changed = _differences(current, wanted)
    if not changed:
        return f"online endpoint {name} unchanged"
    # An update carries the traffic split: without it the endpoint would stop routing to the live colour.
    api.apply_online_endpoint(spec, traffic=dict(current.get("traffic") or {}))
    return f"updated online endpoint {name}: {', '.join(changed)}"


def ensure_batch_endpoint(api: WorkspaceAssetsApi, spec: Path) -> str:
    """Create the batch endpoint, or update the settings that differ; return what was done."""
    name, wanted = _wanted(spec, BATCH_ENDPOINT_SETTINGS, _BATCH_DEFAULTS)
    current = api.batch_endpoint(name)
    if current is None:
        api.apply_batch_endpoint(spec, default_deployment=None)
        return f"created batch endpoint {name}"
    changed = _differences(current, wanted)
    if not changed:
        return f"batch endpoint {name} unchanged"
    api.apply_batch_endpoint(spec, default_deployment=current.get("default_deployment"))
    return f"updated batch endpoint {name}: {', '.join(changed)}"


def build_parser() -> Any:
    parser = cli.workspace_parser(__doc__)
    parser.add_argument("--provision-network", action="store_true", help="provision the managed network")
    parser.add_argument("--environment", type=cli.existing_file, default=None, help="aml/environment.yml")
    parser.add_argument("--requirements", type=cli.existing_file, default=None, help="uv export of the lock")
    parser.add_argument("--online-endpoint", type=cli.existing_file, default=None, help="endpoint YAML")
    parser.add_argument("--batch-endpoint", type=cli.existing_file, default=None, help="batch endpoint YAML")
    return parser


def main(argv: Sequence[str] | None = None, api: WorkspaceAssetsApi | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.requirements is not None and args.environment is None:
        msg = f"--requirements {args.requirements} needs --environment: the environment it pins"
        raise InvalidArgumentError(msg)
    if api is None:
        from pipelines.scripts import aml_assets_client

        api = aml_assets_client.from_args(args)
    if args.provision_network:
        mode = api.managed_network_isolation()
        if mode == NO_MANAGED_NETWORK:
            logger.info("Workspace %s has no managed network: nothing to provision", args.workspace)
        else:
            api.provision_managed_network()
            logger.info("Managed network (%s) of %s is provisioned", mode, args.workspace)
    if args.environment is not None:
        ado.set_variable(
            "environmentUri", ensure_environment(api, args.environment, args.requirements), is_output=True
        )
    for spec, ensure in (
        (args.online_endpoint, ensure_online_endpoint),
        (args.batch_endpoint, ensure_batch_endpoint),
    ):
        if spec is not None:
            logger.info(ensure(api, spec))
    return exit_codes.SUCCESS


if __name__ == "__main__":
    cli.exit_with(main)
