"""Evaluate our rules on a resource as Pulumi sees it: its type token and wire (camelCase) inputs.

The Pulumi policy pack gets the resource's inputs, not its ARM shape; the ARM model's own conversion
(infra/plan/arm_model.py, pure) turns them into the shape the rules read, so the pack and checkov judge
the same thing. Resource types the ARM model does not map carry none of our rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.plan.arm_model import arm_resource
from infra.plan.arm_types import ARM_RESOURCE_TYPES
from policy.rules.aml import ISOLATION_MODES, RULES, Rule, StackContext, unprotected_in_prod

NETWORK_PROFILES = ("public", "private")


def stack_context(inputs: Mapping[str, Any], config: Mapping[str, Any]) -> StackContext:
    """The context from the pack's configuration, the environment falling back to the resource's tag.

    The network profile defaults to `private`: without configuration the pack applies the strict rules.
    The previous isolation mode and key type come from the stack's last outputs (`managedNetworkIsolation`,
    `workspaceCustomerManagedKey`), which the deploy passes as `previousManagedNetworkIsolation` and
    `previousCustomerManagedKey`; unset means a new stack, with nothing to compare.
    """
    profile = config.get("networkProfile", "private")
    if profile not in NETWORK_PROFILES:
        msg = f"policy config networkProfile = {profile!r}: must be one of {list(NETWORK_PROFILES)}"
        raise ValueError(msg)
    tags = inputs.get("tags") if isinstance(inputs.get("tags"), Mapping) else {}
    environment = config.get("environment") or tags.get("environment") or ""
    previous_mode = config.get("previousManagedNetworkIsolation") or None
    if previous_mode is not None and previous_mode not in ISOLATION_MODES:
        msg = (
            f"policy config previousManagedNetworkIsolation = {previous_mode!r}: must be one of "
            f"{list(ISOLATION_MODES)} or unset"
        )
        raise ValueError(msg)
    previous_key = config.get("previousCustomerManagedKey")
    if previous_key not in (None, "", True, False, "true", "false"):
        msg = f"policy config previousCustomerManagedKey = {previous_key!r}: must be true, false or unset"
        raise ValueError(msg)
    return StackContext(
        environment=str(environment),
        private=profile == "private",
        previous_isolation=previous_mode,
        previous_customer_managed_key=None if previous_key in (None, "") else previous_key in (True, "true"),
    )


def protection_violation(
    token: str, inputs: Mapping[str, Any], protect: bool, context: StackContext
) -> str | None:
    """Why the resource, stateful and in prod, must be `protect`ed; None when it is, or the rule does not apply."""
    if token not in ARM_RESOURCE_TYPES:
        return None
    return unprotected_in_prod(arm_resource(token, inputs), protect, context)


def violations(
    token: str, inputs: Mapping[str, Any], context: StackContext, rules: tuple[Rule, ...] = RULES
) -> list[tuple[Rule, str]]:
    """(rule, message) for every violation of `rules` by the resource; none for unmapped types."""
    if token not in ARM_RESOURCE_TYPES:
        return []
    resource = arm_resource(token, inputs)
    return [(rule, message) for rule in rules for message in rule.violations(resource, context) or []]
