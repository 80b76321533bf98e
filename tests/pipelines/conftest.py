"""Fixtures shared by the pipeline script tests: sample request and deployment files."""

import json
from pathlib import Path

import pytest


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample-request.json"
    path.write_text(json.dumps({"input_data": {"columns": ["a"], "index": [0], "data": [[1.0]]}}))
    return path


@pytest.fixture
def deployment_spec(tmp_path: Path) -> Path:
    path = tmp_path / "online-deployment.yml"
    path.write_text("name: placeholder\nendpoint_name: placeholder\ninstance_type: Standard_DS3_v2\n")
    return path
