"""Access control: role assignments, each a (principal, role, scope) grant with a deterministic name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import authorization

from infra.roles import BuiltInRole, role_definition_id

_ASSIGNMENT_NAMESPACE = uuid.UUID("8f6a0d39-2a5e-4d0e-9a55-6d7a5b1f0c11")

PrincipalType = Literal["ServicePrincipal", "Group", "User"]


@dataclass(frozen=True, kw_only=True)
class Grant:
    key: str
    """Required. Stable, unique name of the grant (e.g. `workspace-storage-blob`): it derives the
    assignment's GUID, so renaming it replaces the assignment."""
    principal_id: pulumi.Input[str]
    """Required. Object ID of the identity, group or service principal."""
    principal_type: PrincipalType
    """Required. Kind of principal; stating it avoids replication-delay failures for new identities."""
    role: BuiltInRole
    """Required. Built-in role to grant."""
    scope: pulumi.Input[str]
    """Required. ARM ID the role applies to: always a single resource, never the subscription."""


@dataclass(frozen=True, kw_only=True)
class AccessControlArgs:
    subscription_id: str
    """Required. Subscription holding the role definitions."""
    stack_suffix: str
    """Required. The stack's naming suffix: keeps assignment GUIDs unique per stack."""
    grants: tuple[Grant, ...]
    """Required. Grants to create."""

    def __post_init__(self) -> None:
        keys = [grant.key for grant in self.grants]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            msg = f"AccessControlArgs.grants: keys must be unique; repeated: {repeated}"
            raise ValueError(msg)
        # Azure refuses a second assignment of a role to a principal on a scope (409 RoleAssignmentExists);
        # known values can be checked here, before anything is deployed.
        seen: dict[tuple[str, str, str], str] = {}
        for grant in self.grants:
            if isinstance(grant.principal_id, str) and isinstance(grant.scope, str):
                triple = (grant.principal_id.lower(), grant.role.value, grant.scope.lower())
                if triple in seen:
                    msg = (
                        f"AccessControlArgs.grants: {grant.key!r} repeats {seen[triple]!r} (principal "
                        f"{grant.principal_id}, role {grant.role.name}, scope {grant.scope}): Azure refuses the "
                        "second assignment with 409 RoleAssignmentExists"
                    )
                    raise ValueError(msg)
                seen[triple] = grant.key


def assignment_name(stack_suffix: str, key: str) -> str:
    """A role assignment's GUID, stable for the same stack and grant key."""
    return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, f"{stack_suffix}/{key}"))


class AccessControl(pulumi.ComponentResource):
    """Least-privilege role assignments, scoped to single resources."""

    assignments: dict[str, authorization.RoleAssignment]
    """Each grant's role assignment, by grant key: for resources that must wait until a grant exists."""

    def __init__(
        self, name: str, args: AccessControlArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:authorization:AccessControl", name, None, opts)
        self.assignments = {}
        for grant in args.grants:
            self.assignments[grant.key] = authorization.RoleAssignment(
                f"{name}-{grant.key}",
                role_assignment_name=assignment_name(args.stack_suffix, grant.key),
                principal_id=grant.principal_id,
                principal_type=grant.principal_type,
                role_definition_id=role_definition_id(args.subscription_id, grant.role),
                scope=grant.scope,
                description=f"azure-mlops: {grant.key} ({grant.role.name})",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
