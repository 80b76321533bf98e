"""The project ml.yml runs from: the one holding the files ml.yml's parameters name. A generated project when
ml.yml follows the generated layout (aml/pipeline.yml ...); otherwise a project laid out as ml.yml's own defaults
say (jobs/train.yml, deploy/...), its specs naming only what the stacks create (infra/naming.py's cluster, the
stack's data lake datastore), with the platform's pipelines/scripts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from infra.naming import CPU_CLUSTER_NAME
from pipelines.validation.documents import PIPELINES_ROOT, load
from tests.support.azure_twin.from_plan import REPO
from tests.support.azure_twin.model import StackTwin

ML_PARAMETERS = {
    spec["name"]: spec.get("default") for spec in load(PIPELINES_ROOT / "ml.yml").data["parameters"]
}
"""ml.yml's parameters and their defaults (model name, endpoint, job file ...)."""


def ml_layout_project(folder: Path, dev: StackTwin) -> Path:
    shutil.copytree(REPO / "pipelines", folder / "pipelines", ignore=shutil.ignore_patterns("__pycache__"))
    datastore = dev.outputs["dataLakeDatastoreNames"][0]
    specs = {
        "jobs/train.yml": {
            "type": "command",
            "command": "python train.py --data ${{inputs.data}} --model ${{outputs.model}}",
            "code": ".",
            "compute": f"azureml:{CPU_CLUSTER_NAME}",
            "environment": "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
            "experiment_name": "train",
            "inputs": {
                "data": {"type": "uri_folder", "path": f"azureml://datastores/{datastore}/paths/train/"}
            },
            "outputs": {"model": {"type": "mlflow_model"}},
        },
        "deploy/online-deployment.yml": {
            "name": "blue",
            "endpoint_name": ML_PARAMETERS["onlineEndpoint"],
            "instance_type": "Standard_DS3_v2",
            "instance_count": 1,
        },
        "deploy/batch-deployment.yml": {
            "name": "main",
            "endpoint_name": f"{ML_PARAMETERS['onlineEndpoint']}-batch",
            "compute": f"azureml:{CPU_CLUSTER_NAME}",
            "resources": {"instance_count": 1},
        },
    }
    for name, spec in specs.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(yaml.safe_dump(spec))
    request = {"input_data": {"columns": ["a"], "index": [0], "data": [[1.0]]}}
    (folder / "deploy" / "sample-request.json").write_text(json.dumps(request))
    return folder


def ml_project(folder: Path, dev: StackTwin, generated: Path) -> Path:
    """`generated` (a copy) if it holds ml.yml's training job file, else the layout ml.yml's defaults name."""
    if (generated / str(ML_PARAMETERS["trainJobFile"])).is_file():
        shutil.copytree(generated, folder / generated.name)
        return folder / generated.name
    return ml_layout_project(folder, dev)
