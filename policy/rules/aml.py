"""Our Azure ML rules, as pure functions over one resource in ARM shape (type, sku, properties ...).

checkov's ARM framework has only two Azure ML checks, so these cover the rest of what this platform
promises: idle clusters cost nothing outside prod, compute is Entra-only, instances shut down when idle,
private stacks keep the workspace private, data is reached with identities, Databricks tracks to
the AML workspace, and lifecycle events travel with identities and are never dropped. The same functions run as checkov custom checks (policy/checkov_checks) on the ARM
model and as a Pulumi policy pack (policy/pack) at `pulumi preview`; they import nothing but the
standard library, so either environment can load them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

WORKSPACES = "Microsoft.MachineLearningServices/workspaces"
COMPUTES = "Microsoft.MachineLearningServices/workspaces/computes"
DATASTORES = "Microsoft.MachineLearningServices/workspaces/datastores"
STORAGE_ACCOUNTS = "Microsoft.Storage/storageAccounts"
DATABRICKS_WORKSPACES = "Microsoft.Databricks/workspaces"
EVENT_SUBSCRIPTIONS = "Microsoft.EventGrid/systemTopics/eventSubscriptions"

PROD_ENVIRONMENT = "prod"
"""The only environment whose clusters may keep nodes warm."""
INSTANCE_IDLE_MINUTES = (15, 4320)
"""Shortest and longest idle shutdown Azure ML accepts for a compute instance, in minutes."""
_DURATION = re.compile(r"^PT(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?$")
_AML_WORKSPACE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class StackContext:
    """What a rule needs to know about the stack that one resource does not say."""

    environment: str
    """The stack's environment (dev, staging, prod, pr42 ...)."""
    private: bool
    """True when the stack's networkProfile is `private`."""
    previous_isolation: str | None = None
    """The workspace's managed network isolation mode before this change (the stack's last
    `managedNetworkIsolation` output); None when unknown or the workspace is new."""
    previous_customer_managed_key: bool | None = None
    """Whether the workspace was created with a customer-managed key (the stack's last
    `workspaceCustomerManagedKey` output); None when unknown or the workspace is new."""


@dataclass(frozen=True)
class Rule:
    """One rule: which ARM types it applies to and the check that lists its violations."""

    id: str
    """checkov-style ID, e.g. CKV_AMLOPS_1."""
    name: str
    """Pulumi policy name (kebab-case)."""
    description: str
    """What the rule enforces, as a sentence."""
    arm_types: tuple[str, ...]
    """ARM types the rule inspects."""
    check: Callable[[Mapping[str, Any], StackContext], list[str] | None]
    """Violations of the rule by one resource (empty when it complies, None when the rule does not apply
    to it, e.g. the idle-shutdown rule to a cluster); each violation names field, value and rule."""

    def violations(self, resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
        """The resource's violations; None when the rule does not apply to it."""
        if resource.get("type") not in self.arm_types:
            return None
        return self.check(resource, context)


def _get(resource: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, None where any step is missing."""
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _name(resource: Mapping[str, Any]) -> str:
    return str(resource.get("name", "<unnamed>"))


def _compute_kind(resource: Mapping[str, Any]) -> str | None:
    return _get(resource, "properties.computeType")


def duration_minutes(value: str) -> float | None:
    """Minutes in an ISO 8601 time duration such as PT60M or PT1H30M; None when it is not one."""
    match = _DURATION.match(value or "")
    if not match or not any(match.groupdict().values()):
        return None
    hours, minutes, seconds = (int(match.group(g) or 0) for g in ("h", "m", "s"))
    return hours * 60 + minutes + seconds / 60


def _cluster_scales_to_zero(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    if _compute_kind(resource) != "AmlCompute":
        return None
    if context.environment == PROD_ENVIRONMENT:
        return []
    field = "properties.properties.scaleSettings.minNodeCount"
    value = _get(resource, field)
    if value == 0:
        return []
    return [
        f"{_name(resource)}: {field} = {value!r}; clusters outside {PROD_ENVIRONMENT!r} (this is "
        f"{context.environment!r}) must scale to 0 nodes so that an idle cluster costs nothing"
    ]


def _compute_entra_only(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    kind = _compute_kind(resource)
    if kind not in ("AmlCompute", "ComputeInstance"):
        return None
    problems = []
    if _get(resource, "properties.disableLocalAuth") is not True:
        value = _get(resource, "properties.disableLocalAuth")
        problems.append(
            f"{_name(resource)}: properties.disableLocalAuth = {value!r}; compute must be true "
            "(Entra ID only, no local keys)"
        )
    field = (
        "properties.properties.remoteLoginPortPublicAccess"
        if kind == "AmlCompute"
        else "properties.properties.sshSettings.sshPublicAccess"
    )
    if _get(resource, field) != "Disabled":
        problems.append(f"{_name(resource)}: {field} = {_get(resource, field)!r}; SSH must be 'Disabled'")
    return problems


def _instance_idle_shutdown(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    if _compute_kind(resource) != "ComputeInstance":
        return None
    field = "properties.properties.idleTimeBeforeShutdown"
    value = _get(resource, field)
    minutes = duration_minutes(value) if isinstance(value, str) else None
    low, high = INSTANCE_IDLE_MINUTES
    if minutes is not None and low <= minutes <= high:
        return []
    return [
        f"{_name(resource)}: {field} = {value!r}; compute instances must shut down when idle, after an ISO "
        f"8601 duration of {low}-{high} minutes (e.g. PT60M)"
    ]


def _workspace_private(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    value = _get(resource, "properties.publicNetworkAccess")
    if not context.private or value == "Disabled":
        return []
    return [
        f"{_name(resource)}: properties.publicNetworkAccess = {value!r}; must be 'Disabled' when the "
        "stack's networkProfile is 'private'"
    ]


def _workspace_isolated(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    value = _get(resource, "properties.managedNetwork.isolationMode")
    if not context.private or value in ("AllowInternetOutbound", "AllowOnlyApprovedOutbound"):
        return []
    return [
        f"{_name(resource)}: properties.managedNetwork.isolationMode = {value!r}; must be "
        "'AllowOnlyApprovedOutbound' or 'AllowInternetOutbound' when the stack's networkProfile is 'private'"
    ]


def _identity_datastores(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    if resource.get("type") == WORKSPACES:
        value = _get(resource, "properties.systemDatastoresAuthMode")
        if value == "Identity":
            return []
        return [
            f"{_name(resource)}: properties.systemDatastoresAuthMode = {value!r}; must be 'Identity' so that "
            "the workspace's own datastores use no account keys"
        ]
    value = _get(resource, "properties.credentials.credentialsType")
    if value == "None":
        return []
    return [
        f"{_name(resource)}: properties.credentials.credentialsType = {value!r}; datastores must be "
        "identity-based ('None': each caller's own identity authorises data access, no stored secret)"
    ]


def _storage_shared_key_off(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    value = _get(resource, "properties.allowSharedKeyAccess")
    if value is False:
        return []
    # Azure's default is true: an account that does not say false accepts account keys.
    return [f"{_name(resource)}: properties.allowSharedKeyAccess = {value!r}; must be false (Entra ID only)"]


def _databricks_linked(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    value = _get(resource, "properties.parameters.amlWorkspaceId.value")
    if isinstance(value, str) and _AML_WORKSPACE_ID.match(value):
        return []
    return [
        f"{_name(resource)}: properties.parameters.amlWorkspaceId.value = {value!r}; a Databricks workspace "
        "must be linked to the AML workspace (its ARM ID) so that MLflow runs land in the AML registry"
    ]


ISOLATION_MODES = ("Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound")
"""Managed network isolation modes, loosest first. A workspace only ever moves rightwards: Azure refuses
to reconfigure allow-internet-outbound to disabled and allow-only-approved-outbound to allow-internet-outbound
(https://learn.microsoft.com/azure/machine-learning/how-to-managed-network)."""


def isolation_loosening(previous: str | None, new: str | None) -> str | None:
    """Why a workspace may not move from isolation mode `previous` to `new`; None when Azure allows it.

    An absent mode is Azure's default, Disabled; an unknown previous mode (a new workspace) allows any.
    """
    if previous not in ISOLATION_MODES:
        return None
    new = new or "Disabled"
    if new in ISOLATION_MODES and ISOLATION_MODES.index(new) >= ISOLATION_MODES.index(previous):
        return None
    return (
        f"managed network isolation {previous!r} -> {new!r} loosens it; Azure lets a workspace's managed "
        f"network only tighten ({' -> '.join(ISOLATION_MODES)}), so keep {previous!r} or a stricter mode "
        "(https://learn.microsoft.com/azure/machine-learning/how-to-managed-network)"
    )


def encryption_switch(previous: bool | None, new: bool) -> str | None:
    """Why a workspace may not change between Microsoft- and customer-managed keys; None when it stays."""
    if previous is None or previous == new:
        return None
    before, after = ("customer", "Microsoft") if previous else ("Microsoft", "customer")
    return (
        f"the workspace was created with {before}-managed keys and cannot switch to {after}-managed keys: "
        "Azure ML sets the encryption of the data it stores once, at workspace creation "
        "(https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys); "
        "keep the setting, or create a new workspace"
    )


def _workspace_only_tightens(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    value = _get(resource, "properties.managedNetwork.isolationMode")
    problem = isolation_loosening(context.previous_isolation, value)
    return (
        [f"{_name(resource)}: properties.managedNetwork.isolationMode = {value!r}; {problem}"]
        if problem
        else []
    )


def _workspace_encryption_fixed(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    value = _get(resource, "properties.encryption.status")
    problem = encryption_switch(context.previous_customer_managed_key, value == "Enabled")
    return [f"{_name(resource)}: properties.encryption.status = {value!r}; {problem}"] if problem else []


def _prod_workspace_private(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    if context.environment != PROD_ENVIRONMENT:
        return []
    problems = []
    access = _get(resource, "properties.publicNetworkAccess")
    if access != "Disabled":
        problems.append(
            f"{_name(resource)}: properties.publicNetworkAccess = {access!r}; a prod workspace must be "
            "'Disabled' whatever the stack's networkProfile says (prod is production-grade: private)"
        )
    mode = _get(resource, "properties.managedNetwork.isolationMode")
    if mode not in ISOLATION_MODES[1:]:
        problems.append(
            f"{_name(resource)}: properties.managedNetwork.isolationMode = {mode!r}; a prod workspace must "
            f"have a managed network ({list(ISOLATION_MODES[1:])})"
        )
    return problems


PROTECTED_IN_PROD = (
    WORKSPACES,
    STORAGE_ACCOUNTS,
    "Microsoft.KeyVault/vaults",
    "Microsoft.KeyVault/vaults/keys",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.MachineLearningServices/registries",
)
"""ARM types that hold data, secrets or keys: in prod Pulumi must refuse to delete them (`protect`)."""


def unprotected_in_prod(resource: Mapping[str, Any], protect: bool, context: StackContext) -> str | None:
    """Why a stateful prod resource that Pulumi would let `pulumi destroy` delete is refused; None otherwise.

    Only the Pulumi policy pack sees `protect` (a resource option, not an ARM property): checkov cannot.
    """
    if protect or context.environment != PROD_ENVIRONMENT or resource.get("type") not in PROTECTED_IN_PROD:
        return None
    return (
        f"{_name(resource)}: protect = False; a prod {resource['type']} holds data, secrets or keys and must be "
        "protected from `pulumi destroy` (protectStatefulResources must stay true in prod)"
    )


_IDENTITY_TYPES = ("SystemAssigned", "UserAssigned")


def _event_delivery_identity(resource: Mapping[str, Any], context: StackContext) -> list[str] | None:
    problems = []
    name = _name(resource)
    # The plain forms authenticate with keys, SAS tokens or a push endpoint's own secret.
    for plain, with_identity in (
        ("destination", "deliveryWithResourceIdentity"),
        ("deadLetterDestination", "deadLetterWithResourceIdentity"),
    ):
        identity = _get(resource, f"properties.{with_identity}.identity.type")
        if _get(resource, f"properties.{plain}") is not None:
            problems.append(
                f"{name}: properties.{plain} is set; use properties.{with_identity} (a managed identity)"
            )
        elif identity not in _IDENTITY_TYPES:
            problems.append(
                f"{name}: properties.{with_identity}.identity.type = {identity!r}; must be one of "
                f"{list(_IDENTITY_TYPES)} (events are delivered and dead-lettered with a managed identity, "
                "and an event that cannot be delivered is dead-lettered, not dropped)"
            )
    return problems


RULES: tuple[Rule, ...] = (
    Rule(
        "CKV_AMLOPS_1",
        "aml-cluster-scales-to-zero",
        "Compute clusters scale to 0 nodes outside prod.",
        (COMPUTES,),
        _cluster_scales_to_zero,
    ),
    Rule(
        "CKV_AMLOPS_2",
        "aml-compute-entra-only",
        "Compute clusters and instances have local auth and public SSH off.",
        (COMPUTES,),
        _compute_entra_only,
    ),
    Rule(
        "CKV_AMLOPS_3",
        "aml-instance-idle-shutdown",
        "Compute instances shut down after 15-4320 idle minutes.",
        (COMPUTES,),
        _instance_idle_shutdown,
    ),
    Rule(
        "CKV_AMLOPS_4",
        "aml-workspace-private",
        "The workspace disables public network access on private stacks.",
        (WORKSPACES,),
        _workspace_private,
    ),
    Rule(
        "CKV_AMLOPS_5",
        "aml-workspace-managed-network",
        "The workspace has managed network isolation on private stacks.",
        (WORKSPACES,),
        _workspace_isolated,
    ),
    Rule(
        "CKV_AMLOPS_6",
        "aml-identity-datastores",
        "The workspace's own and all other datastores authenticate with identities, not keys.",
        (WORKSPACES, DATASTORES),
        _identity_datastores,
    ),
    Rule(
        "CKV_AMLOPS_7",
        "storage-shared-key-off",
        "Storage accounts disable shared key (account key) access.",
        (STORAGE_ACCOUNTS,),
        _storage_shared_key_off,
    ),
    Rule(
        "CKV_AMLOPS_8",
        "databricks-linked-to-aml",
        "Databricks workspaces are linked to the AML workspace.",
        (DATABRICKS_WORKSPACES,),
        _databricks_linked,
    ),
    Rule(
        "CKV_AMLOPS_9",
        "event-delivery-identity",
        "Event Grid subscriptions deliver and dead-letter with a managed identity, never keys or push secrets.",
        (EVENT_SUBSCRIPTIONS,),
        _event_delivery_identity,
    ),
    Rule(
        "CKV_AMLOPS_20",
        "prod-workspace-private",
        "A prod workspace is private and has a managed network, whatever the stack file says.",
        (WORKSPACES,),
        _prod_workspace_private,
    ),
    Rule(
        "CKV_AMLOPS_21",
        "aml-managed-network-only-tightens",
        "A workspace's managed network isolation never loosens (Azure refuses it).",
        (WORKSPACES,),
        _workspace_only_tightens,
    ),
    Rule(
        "CKV_AMLOPS_22",
        "aml-workspace-encryption-fixed",
        "A workspace keeps the key type (Microsoft- or customer-managed) it was created with.",
        (WORKSPACES,),
        _workspace_encryption_fixed,
    ),
)
"""Every rule, in ID order."""


def rule(rule_id: str) -> Rule:
    """The rule with ID `rule_id` (KeyError naming the known IDs otherwise)."""
    for candidate in RULES:
        if candidate.id == rule_id:
            return candidate
    msg = f"no rule {rule_id!r}; rules: {[r.id for r in RULES]}"
    raise KeyError(msg)
