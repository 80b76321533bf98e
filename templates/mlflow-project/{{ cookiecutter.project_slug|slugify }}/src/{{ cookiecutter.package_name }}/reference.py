"""The model monitor's reference data: the training split of the champion, as an MLTable folder.

    python -m {{ cookiecutter.package_name }}.reference --prepared artifacts/prepared --output artifacts/reference

aml/monitoring.yml compares production inputs and predictions with this table. It comes from three places:
- the training pipeline (aml/pipeline.yml): `register` writes it next to the new champion, and Azure ML
  registers it in the dev workspace as the data asset `{{ cookiecutter.project_slug }}-training-data` (version by version);
- `promote` copies the promoted version's table into the stack's Azure ML registry (AML_REGISTRY_NAME) as the same asset at the model's
  version, so `azureml://registries/<registry>/data/{{ cookiecutter.project_slug }}-training-data/versions/<v>` is the
  training data of `azureml://registries/<registry>/models/{{ cookiecutter.project_slug }}/versions/<v>`;
- every release points the monitor of staging and prod at that registry copy (`monitoring.py --model`).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.prep import TRAIN_FILE
from {{ cookiecutter.package_name }}.settings import MODEL_NAME, WORKDIR

REFERENCE_DATA_NAME = f"{MODEL_NAME}-training-data"
"""The data asset, in the dev workspace and in the registry; aml/monitoring.yml names it too."""
MLTABLE_FILE = "MLTable"
DATA_FILE = "train.parquet"
MLTABLE = {
    "$schema": "https://azuremlschemas.azureedge.net/latest/MLTable.schema.json",
    "type": "mltable",
    "paths": [{"file": f"./{DATA_FILE}"}],
    "transformations": [{"read_parquet": {"include_path_column": False}}],
}
_REGISTRY_MODEL = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$"
)


class NotARegistryModelError(ProjectError):
    """Raised when a model URI is not `azureml://registries/<registry>/models/<name>/versions/<version>`."""


def write_mltable(prepared_dir: Path, folder: Path) -> Path:
    """Copy prep's training split into `folder` with the MLTable file that reads it; return the MLTable path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(prepared_dir / TRAIN_FILE, folder / DATA_FILE)
    path = folder / MLTABLE_FILE
    path.write_text(yaml.safe_dump(MLTABLE, sort_keys=False), encoding="utf-8")
    return path


def registry_data_uri(registry: str, version: str, name: str = REFERENCE_DATA_NAME) -> str:
    """The registry copy of one version's reference data.

    >>> registry_data_uri("shared", "3", "m-training-data")
    'azureml://registries/shared/data/m-training-data/versions/3'
    """
    return f"azureml://registries/{registry}/data/{name}/versions/{version}"


def reference_for_model(model_uri: str, name: str = REFERENCE_DATA_NAME) -> str:
    """The reference data promoted with a registry model: same registry, same version.

    >>> reference_for_model("azureml://registries/shared/models/m/versions/3", "m-training-data")
    'azureml://registries/shared/data/m-training-data/versions/3'
    """
    match = _REGISTRY_MODEL.fullmatch(model_uri)
    if match is None:
        raise NotARegistryModelError(
            f"{model_uri!r} is not a registry model URI (azureml://registries/<registry>/models/<name>/versions/<v>): "
            "releases deploy the registry copy, and its reference data is promoted next to it"
        )
    return registry_data_uri(match["registry"], match["version"], name)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--prepared", type=Path, default=WORKDIR / "prepared", help="prep's output folder")
    parser.add_argument("--output", type=Path, default=WORKDIR / "reference", help="the MLTable folder")
    args = parser.parse_args(argv)

    def step() -> int:
        print(f"wrote {write_mltable(args.prepared, args.output)}")
        return cli.EXIT_OK

    return cli.run(step)


if __name__ == "__main__":
    raise SystemExit(main())
