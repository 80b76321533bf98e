"""The policy pack's policies: one mandatory ResourceValidationPolicy per rule in policy/rules/aml.py."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from policy.rules import wire
from policy.rules.aml import ISOLATION_MODES, RULES, Rule

PACK_NAME = "azure-mlops-aml"
CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "networkProfile": {"type": "string", "enum": list(wire.NETWORK_PROFILES), "default": "private"},
        "environment": {"type": "string", "description": "Overrides the resources' `environment` tag."},
        "previousManagedNetworkIsolation": {
            "type": "string",
            "enum": ["", *ISOLATION_MODES],
            "default": "",
            "description": "The stack's last `managedNetworkIsolation` output; empty for a new stack.",
        },
        "previousCustomerManagedKey": {
            "type": "string",
            "enum": ["", "true", "false"],
            "default": "",
            "description": "The stack's last `workspaceCustomerManagedKey` output; empty for a new stack.",
        },
    }
)
"""Set per stack with `--policy-pack-config`: the stack's networkProfile and environment, and what its last
outputs say of the workspace (the rules that forbid loosening or switching compare against them)."""


def _validator(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        context = wire.stack_context(args.props, args.get_config() or {})
        for _, message in wire.violations(args.resource_type, args.props, context, (rule,)):
            report_violation(f"{rule.id}: {message}", args.urn)

    return validate


PROTECTION_POLICY = "prod-stateful-resources-protected"
"""The pack-only policy: stateful prod resources carry `protect`, which only Pulumi (not ARM) knows."""


def _validate_protection(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    context = wire.stack_context(args.props, args.get_config() or {})
    protect = bool(args.opts.protect) if args.opts is not None else False
    problem = wire.protection_violation(args.resource_type, args.props, protect, context)
    if problem:
        report_violation(f"{PROTECTION_POLICY}: {problem}", args.urn)


def policies() -> list[ResourceValidationPolicy]:
    """The pack's policies, mandatory: a violation stops `pulumi preview` and `pulumi up`."""
    protection = ResourceValidationPolicy(
        name=PROTECTION_POLICY,
        description="Prod's workspace, storage, vault, keys and registries are protected from pulumi destroy.",
        validate=_validate_protection,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=CONFIG_SCHEMA,
    )
    return [
        protection,
        *[
            ResourceValidationPolicy(
                name=rule.name,
                description=f"{rule.id}: {rule.description}",
                validate=_validator(rule),
                enforcement_level=EnforcementLevel.MANDATORY,
                config_schema=CONFIG_SCHEMA,
            )
            for rule in RULES
        ],
    ]
