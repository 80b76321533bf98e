"""Stack outputs -> Azure DevOps variable group `mlops-aml-<stack>` (and GitHub environment variables), as the
platform's own mapping writes them (`pipelines.scripts.stack_variables`): the twin reads what the infra pipeline
would have written, never a copy of the rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.scripts.stack_variables import GROUP_PREFIX, MAPPING, group_name, variables_from_outputs

__all__ = ["GROUP_PREFIX", "group_name", "group_variables", "mapping"]


def mapping() -> dict[str, str]:
    """Variable -> the stack output it is written from."""
    return {variable.name: variable.output for variable in MAPPING}


def group_variables(outputs: Mapping[str, Any], *, github: bool = False) -> dict[str, str]:
    """The variables one stack's outputs give pipelines (`github`: the GitHub environment's)."""
    return variables_from_outputs(outputs, github=github)
