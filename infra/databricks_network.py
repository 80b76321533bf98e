"""The NSG rules of the private profile's Databricks subnets, and what the endpoint subnet opens to them.

Azure Databricks provisions rules itself in the NSG of each subnet delegated to it and owns them (they cannot
be changed or deleted); with requiredNsgRules = NoAzureDatabricksRules it leaves out only the AzureDatabricks
(control plane) rule, which back-end private link replaces. Declaring them exactly as Databricks writes them
(name, priority, description) keeps the NSG's rule list stable: otherwise every `pulumi up` would try to
delete them, and a rule of ours at one of their priorities would collide with Databricks' own
(https://learn.microsoft.com/azure/databricks/security/network/classic/vnet-inject#network-security-group-rules).
"""

from __future__ import annotations

from infra.components.network import SecurityRule

DATABRICKS_OWNED_PREFIX = "Microsoft.Databricks-workspaces_UseOnly_databricks-worker-to-"
_WORKERS = "Required for worker nodes communication within a cluster."

_OWNED = DATABRICKS_OWNED_PREFIX
# (name, priority, direction, access, source, destination, port, protocol, description). Databricks' own rules
# first, as it writes them; ours above its priorities: Entra ID for the job principal's tokens (MLflow to Azure
# ML; the control plane itself is reached through the private endpoint, inside the VNet) and PyPI for the job's
# pinned libraries (no service tag); nothing else reaches or leaves the nodes.
_RULES: tuple[tuple[str, int, str, str, str, str, str, str, str], ...] = (
    (f"{_OWNED}worker-inbound", 100, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork", "*", "*", _WORKERS),
    (f"{_OWNED}worker-outbound", 100, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork", "*", "*", _WORKERS),
    (f"{_OWNED}sql", 101, "Outbound", "Allow", "VirtualNetwork", "Sql", "3306", "Tcp",
     "Required for workers communication with Azure SQL services."),
    (f"{_OWNED}storage", 102, "Outbound", "Allow", "VirtualNetwork", "Storage", "443", "Tcp",
     "Required for workers communication with Azure Storage services."),
    (f"{_OWNED}eventhub", 103, "Outbound", "Allow", "VirtualNetwork", "EventHub", "9093", "Tcp",
     "Required for worker communication with Azure Eventhub services."),
    ("allow-azureactivedirectory", 200, "Outbound", "Allow", "VirtualNetwork", "AzureActiveDirectory", "443", "Tcp",
     "tokens of the job's service principal (MLflow to Azure ML)"),
    ("allow-internet", 210, "Outbound", "Allow", "VirtualNetwork", "Internet", "443", "Tcp",
     "PyPI: the job's pinned libraries (azureml-mlflow)"),
    ("deny-other-inbound", 4000, "Inbound", "Deny", "*", "*", "*", "*",
     "nothing outside the VNet reaches the nodes (no public IP)"),
    ("deny-other-outbound", 4000, "Outbound", "Deny", "VirtualNetwork", "*", "*", "*", "no other egress"),
)  # fmt: skip
DATABRICKS_RULES: tuple[SecurityRule, ...] = tuple(
    SecurityRule(
        name=name,
        priority=priority,
        direction=direction,
        access=access,
        source=source,
        destination=destination,
        ports=(port,),
        protocol=protocol,
        why=why,
    )
    for name, priority, direction, access, source, destination, port, protocol, why in _RULES
)
"""The NSG rules of each Databricks subnet."""
DATABRICKS_REQUIRED_RULES: tuple[SecurityRule, ...] = tuple(
    rule for rule in DATABRICKS_RULES if rule.name.startswith(DATABRICKS_OWNED_PREFIX)
)
"""The rules Azure Databricks adds to each VNet-injected subnet's NSG under NoAzureDatabricksRules."""

DATABRICKS_BACKEND_PORTS: tuple[str, ...] = ("443", "6666", "3306", "8443-8451")
"""What the clusters open to the workspace's private endpoint (back-end private link): the REST API, the secure
cluster connectivity relay and the control plane's other services
(https://learn.microsoft.com/azure/databricks/security/network/classic/private-link-standard)."""


def databricks_backend_rules(prefixes: tuple[str, ...], *, first_priority: int) -> tuple[SecurityRule, ...]:
    """Inbound rules for the endpoint subnet: each Databricks subnet (prefix) to the back-end ports."""
    return tuple(
        SecurityRule(
            name=f"allow-databricks-backend-{index}",
            priority=first_priority + index,
            direction="Inbound",
            access="Allow",
            source=prefix,
            destination="VirtualNetwork",
            ports=DATABRICKS_BACKEND_PORTS,
            why="Databricks clusters to the control plane through the workspace's private endpoint",
        )
        for index, prefix in enumerate(prefixes)
    )
