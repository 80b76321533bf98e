"""Monthly list-price estimate of a stack, idle and at full scale, from the dated table price_table.json.

Idle means every cluster at its minimum node count and every compute instance stopped; full scale means
every cluster at its maximum and every instance running, all month (730 h). Only fixed-rate meters are
added up: usage-billed resources (storage GB, log ingestion, vault operations) are listed with their unit
price, and a resource type or VM size missing from the table is reported as unpriced, never counted as 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from infra.plan.arm_types import is_arm_token
from infra.plan.engine import Plan, PlannedResource

PRICE_TABLE = Path(__file__).with_name("price_table.json")
COMPUTE = "azure-native:machinelearningservices:Compute"
REGISTRY = "azure-native:containerregistry:Registry"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
AGENT_POOL = "azure-native:devopsinfrastructure:Pool"
AZURE_FIREWALL = "azure-native:network:AzureFirewall"
DATABRICKS_OBJECTS = "databricks:*"
"""Price table key of every object inside a Databricks workspace (policies, jobs, scopes): no charge of its own."""
IMPLICIT_ENDPOINTS = 4
"""Private endpoints a managed network creates by itself: workspace storage (blob, file), vault, registry."""


@cache
def price_table() -> dict[str, Any]:
    """The checked-in price table."""
    return json.loads(PRICE_TABLE.read_text())


@dataclass(frozen=True)
class CostLine:
    """One priced item: a resource's fixed monthly cost, idle and at full scale."""

    resource: str
    item: str
    idle: float
    full: float


@dataclass
class CostEstimate:
    """A stack's estimate: priced lines, usage-billed resources, and what the table cannot price."""

    stack: str
    region: str
    lines: list[CostLine] = field(default_factory=list)
    usage: list[tuple[str, str, float]] = field(default_factory=list)
    """(resource, unit, unit price) for resources billed by usage."""
    free: list[tuple[str, str]] = field(default_factory=list)
    unpriced: list[tuple[str, str]] = field(default_factory=list)
    """(resource, why) for what the table has no price for."""

    @property
    def idle(self) -> float:
        return round(sum(line.idle for line in self.lines), 2)

    @property
    def full(self) -> float:
        return round(sum(line.full for line in self.lines), 2)


def _compute_line(resource: PlannedResource, region: str, hours: float) -> CostLine | str:
    body = resource.inputs.get("properties", {})
    inner = body.get("properties", {})
    size = inner.get("vmSize")
    kind = body.get("computeType")
    priority = inner.get("vmPriority", "Dedicated") if kind == "AmlCompute" else "Dedicated"
    hourly = price_table()["vmHourly"].get(size, {}).get(priority, {}).get(region)
    if hourly is None:
        return f"no {priority} price for VM size {size!r} in {region}"
    if kind == "AmlCompute":
        scale = inner.get("scaleSettings", {})
        low, high = int(scale.get("minNodeCount", 0)), int(scale.get("maxNodeCount", 0))
        item = f"{size} {priority} x {low}-{high} nodes"
        return CostLine(resource.name, item, round(low * hourly * hours, 2), round(high * hourly * hours, 2))
    # A compute instance shuts down when idle: it costs only while someone works on it.
    return CostLine(resource.name, f"{size} instance", 0.0, round(hourly * hours, 2))


def _private_endpoints(resource: PlannedResource) -> int:
    network = resource.inputs.get("managedNetwork") or {}
    if network.get("isolationMode", "Disabled") == "Disabled":
        return 0
    declared = [
        r for r in (network.get("outboundRules") or {}).values() if r.get("type") == "PrivateEndpoint"
    ]
    return IMPLICIT_ENDPOINTS + len(declared)


def _managed_network_lines(resource: PlannedResource, region: str, hours: float) -> list[CostLine]:
    """Managed private endpoints, and the Azure Firewall a managed network adds for FQDN outbound rules."""
    table, lines = price_table(), []
    if count := _private_endpoints(resource):
        monthly = round(count * table["privateEndpointHourly"][region] * hours, 2)
        lines.append(CostLine(resource.name, f"{count} managed private endpoints", monthly, monthly))
    network = resource.inputs.get("managedNetwork") or {}
    rules = (network.get("outboundRules") or {}).values()
    if network.get("isolationMode") == "AllowOnlyApprovedOutbound" and any(
        r.get("type") == "FQDN" for r in rules
    ):
        sku = network.get("firewallSku") or "Standard"
        hourly = table["managedFirewallHourly"][sku][region]
        monthly = round(hourly * hours, 2)
        lines.append(CostLine(resource.name, f"managed Azure Firewall {sku} (FQDN rules)", monthly, monthly))
    return lines


def _fixed_line(resource: PlannedResource, region: str, hours: float) -> CostLine:
    """A resource billed at a flat rate while it exists (an endpoint by the hour, a DNS zone by the month)."""
    table = price_table()
    if resource.type in table["fixedHourly"]:
        meter = table["fixedHourly"][resource.type]
        monthly = round(meter["price"][region] * hours, 2)
    else:
        meter = table["fixedMonthly"][resource.type]
        monthly = meter["price"][region]
    return CostLine(resource.name, meter["item"], monthly, monthly)


def estimate(plan: Plan) -> CostEstimate:
    """The stack's monthly estimate from the price table."""
    table = price_table()
    hours = float(table["hoursPerMonth"])
    region = next((str(r.inputs["location"]) for r in plan.resources if "location" in r.inputs), "")
    result = CostEstimate(plan.stack, region)
    for resource in sorted((r for r in plan.resources if r.custom), key=lambda r: r.name):
        token = resource.type
        if token.startswith("pulumi:providers:"):
            continue  # a provider instance is configuration, not something Azure bills
        if not is_arm_token(token):
            result.free.append((resource.name, table["free"][DATABRICKS_OBJECTS]))
        elif token == COMPUTE:
            line = _compute_line(resource, region, hours)
            if isinstance(line, str):
                result.unpriced.append((resource.name, line))
            else:
                result.lines.append(line)
        elif token == REGISTRY:
            sku = resource.inputs.get("sku", {}).get("name")
            daily = table["registryDaily"].get(sku, {}).get(region)
            if daily is None:
                result.unpriced.append((resource.name, f"no price for registry SKU {sku!r} in {region}"))
            else:
                monthly = round(daily * hours / 24, 2)
                result.lines.append(CostLine(resource.name, f"registry {sku}", monthly, monthly))
        elif token == AGENT_POOL:
            # Stateless agents are VMs that exist while a job runs: billed per agent-hour at the VM's price.
            size = resource.inputs.get("fabricProfile", {}).get("sku", {}).get("name")
            hourly = table["vmHourly"].get(size, {}).get("Dedicated", {}).get(region)
            if hourly is None:
                result.unpriced.append((resource.name, f"no price for agent VM size {size!r} in {region}"))
            else:
                unit = (
                    f"agent-hour ({size} VM while a job runs; Azure DevOps self-hosted parallel jobs extra)"
                )
                result.usage.append((resource.name, unit, hourly))
        elif token == AZURE_FIREWALL:
            # A deployment hour by tier (the same meter as a managed network's firewall), plus data processed.
            tier = resource.inputs.get("sku", {}).get("tier") or "Standard"
            monthly = round(table["managedFirewallHourly"][tier][region] * hours, 2)
            result.lines.append(
                CostLine(resource.name, f"Azure Firewall {tier} (agents' egress)", monthly, monthly)
            )
            meter = table["usage"][token]
            result.usage.append((resource.name, meter["unit"], meter["price"][region]))
        elif token in table["fixedHourly"] or token in table["fixedMonthly"]:
            result.lines.append(_fixed_line(resource, region, hours))
        elif token in table["usage"]:
            meter = table["usage"][token]
            result.usage.append((resource.name, meter["unit"], meter["price"][region]))
        elif token in table["free"]:
            result.free.append((resource.name, table["free"][token]))
        else:
            result.unpriced.append((resource.name, f"resource type {token} is not in the price table"))
        if token == WORKSPACE:
            result.lines.extend(_managed_network_lines(resource, region, hours))
    return result


def render_markdown(cost: CostEstimate) -> str:
    """cost.md: the estimate with its source and date."""
    table = price_table()
    rows = [f"| {line.resource} | {line.item} | {line.idle:,.2f} | {line.full:,.2f} |" for line in cost.lines]
    parts = [
        f"# Monthly cost estimate: stack `{cost.stack}` ({cost.region})",
        "",
        f"List prices in {table['currency']} as of {table['asOf']}, {table['hoursPerMonth']} hours a month. "
        f"Source: {table['source']}",
        "",
        f"**Idle: {cost.idle:,.2f} {table['currency']}/month. "
        f"Full scale: {cost.full:,.2f} {table['currency']}/month.**"
        " Idle: clusters at their minimum, instances stopped. Full: clusters at their maximum and instances "
        "running all month. Usage-billed meters below are not included.",
        "",
        "| Resource | Priced item | Idle | Full scale |",
        "| --- | --- | ---: | ---: |",
        *rows,
        "",
        "## Billed by usage (not included)",
        "",
        *(f"- {name}: {price} per {unit}" for name, unit, price in cost.usage),
        "",
        "## Unpriced (missing from the price table)",
        "",
        *([f"- {name}: {why}" for name, why in cost.unpriced] or ["- none"]),
        "",
        "## No charge",
        "",
        *(f"- {name}: {why}" for name, why in cost.free),
        "",
    ]
    return "\n".join(parts)
