"""Registers one checkov ARM check per rule in policy/rules/aml.py.

checkov loads this file by path from `--external-checks-dir` and runs it in its own environment
(.venv-checkov), where the repository is not installed: the repository root is put on sys.path so
that the rule logic is the very module the policy pack and the tests import.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from checkov.arm.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

_REPOSITORY = Path(__file__).resolve().parents[2]
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))

from policy.rules.aml import RULES, Rule, StackContext  # noqa: E402 (needs the path above)

CONTEXT_KEY = "azureMlops"
"""Resource metadata key where the ARM model (infra/plan/arm_model.py) writes the stack context."""


def stack_context(conf: Mapping[str, Any]) -> StackContext:
    """The stack context from the resource's metadata; strict (private, not prod) where it is missing, and
    nothing deployed to compare against unless the metadata records it."""
    metadata = conf.get("metadata")
    context = metadata.get(CONTEXT_KEY) if isinstance(metadata, Mapping) else None
    if not isinstance(context, Mapping):
        context = {}
    tags = conf.get("tags") if isinstance(conf.get("tags"), Mapping) else {}
    environment = context.get("environment") or tags.get("environment") or ""
    previous_key = context.get("previousCustomerManagedKey")
    return StackContext(
        environment=str(environment),
        private=context.get("networkProfile", "private") != "public",
        # What is deployed, when the model records it; the offline plan has no deployed state.
        previous_isolation=context.get("previousManagedNetworkIsolation") or None,
        previous_customer_managed_key=previous_key if isinstance(previous_key, bool) else None,
    )


class AmlRuleCheck(BaseResourceCheck):
    """A checkov ARM check that fails a resource with the rule's violations as the result's details."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        super().__init__(
            name=rule.description,
            id=rule.id,
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=rule.arm_types,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        violations = self.rule.violations({"type": self.entity_type, **conf}, stack_context(conf))
        if violations is None:
            return CheckResult.UNKNOWN
        self.details.extend(violations)
        return CheckResult.FAILED if violations else CheckResult.PASSED


CHECKS = [AmlRuleCheck(rule) for rule in RULES]
