"""docs/first-run.md names only settings that exist: a renamed config key or pipeline parameter fails here."""

from __future__ import annotations

import re

import yaml

from infra.config import StackConfig
from tests.infra.conftest import REPO

DOC = REPO / "docs" / "first-run.md"


def _camel_case_names(text: str) -> set[str]:
    """Backticked camelCase words: config keys, outputs and pipeline parameters are written that way."""
    return {name for name in re.findall(r"`([a-z]+[A-Z][A-Za-z]*)`", text)}


def _infra_pipeline_parameters() -> set[str]:
    document = yaml.safe_load(
        (REPO / "pipelines" / "azure-pipelines" / "infra.yml").read_text(encoding="utf-8")
    )
    return {parameter["name"] for parameter in document.get("parameters", [])}


def test_the_set_once_table_names_real_config_keys_and_pipeline_parameters() -> None:
    section = DOC.read_text(encoding="utf-8").split("## 1. Set once", 1)[1].split("\n## ", 1)[0]
    config_keys = {field.alias for field in StackConfig.model_fields.values() if field.alias}
    named = _camel_case_names(section)
    assert {"agentPoolOrganizationUrl", "deployerPrincipalId"} <= named, "the table moved or lost its keys"
    assert sorted(named - config_keys - _infra_pipeline_parameters()) == []
