"""The cost estimate (priced from the dated table, gaps reported) and the committed diagrams (never stale)."""

from __future__ import annotations

import dataclasses

from infra.plan import cost, diagram
from infra.plan.engine import Plan, PlannedResource
from infra.regions import SUPPORTED_REGIONS
from tests.policy.conftest import REPO


def test_price_table_is_dated_sourced_and_covers_every_region() -> None:
    table = cost.price_table()
    assert table["asOf"] and "Retail Prices API" in table["source"] and table["currency"] == "USD"
    regional = [table["privateEndpointHourly"], *table["registryDaily"].values()]
    regional += [prices for size in table["vmHourly"].values() for prices in size.values()]
    regional += [meter["price"] for meter in table["usage"].values()]
    for prices in regional:
        assert set(prices) == set(SUPPORTED_REGIONS)


def test_dev_idles_cheaper_than_prod_and_scales_to_zero(plans: dict[str, Plan]) -> None:
    dev, prod = cost.estimate(plans["dev"]), cost.estimate(plans["prod"])
    assert dev.unpriced == [] and prod.unpriced == []
    assert 0 < dev.idle < prod.idle < prod.full
    cluster = next(line for line in dev.lines if line.resource == "compute-cpu-cluster")
    assert cluster.idle == 0 and cluster.full > 0
    markdown = cost.render_markdown(dev)
    assert f"Idle: {dev.idle:,.2f} USD/month" in markdown and cost.price_table()["asOf"] in markdown


def test_unknown_types_and_sizes_are_reported_not_priced_at_zero(plans: dict[str, Plan]) -> None:
    plan = plans["dev"]
    cluster = plan.named("compute-cpu-cluster")
    inputs = {**cluster.inputs, "properties": {**cluster.inputs["properties"]}}
    inputs["properties"]["properties"] = {**inputs["properties"]["properties"], "vmSize": "Standard_Z99_v9"}
    odd = [
        dataclasses.replace(cluster, inputs=inputs),
        PlannedResource("azure-native:cache:Redis", "app", None, {"location": "westeurope"}, False, True),
    ]
    estimate = cost.estimate(Plan(stack="dev", resources=odd))
    assert [name for name, _ in estimate.unpriced] == ["app", "compute-cpu-cluster"]
    assert "Redis" in estimate.unpriced[0][1] and "Standard_Z99_v9" in estimate.unpriced[1][1]
    assert estimate.lines == []


def test_diagram_has_components_references_and_role_edges(plans: dict[str, Plan]) -> None:
    text = diagram.mermaid(plans["prod"])
    assert 'subgraph c_workspace["workspace (Workspace)"]' in text
    assert "workspace_workspace -- references --> key_vault_vault" in text
    assert "workspace_workspace -- contains --> compute_cpu_cluster" in text
    assert "compute_cpu_cluster -. Acr Pull .-> container_registry_registry" in text


def test_committed_diagrams_are_current(plans: dict[str, Plan]) -> None:
    for stack in diagram.DOCS_STACKS:
        committed = (REPO / "docs" / f"architecture-{stack}.md").read_text()
        assert committed == diagram.render_markdown(plans[stack]), (
            f"docs/architecture-{stack}.md is stale: make diagrams"
        )


def test_fqdn_outbound_rules_add_the_managed_firewall(plans: dict[str, Plan]) -> None:
    workspace = plans["prod"].named("workspace-workspace")
    network = {**workspace.inputs["managedNetwork"], "firewallSku": "Basic"}
    network["outboundRules"] = {
        **network.get("outboundRules", {}),
        "pypi": {"type": "FQDN", "destination": "pypi.org"},
    }
    changed = dataclasses.replace(workspace, inputs={**workspace.inputs, "managedNetwork": network})
    lines = cost.estimate(Plan(stack="prod", resources=[changed])).lines
    firewall = [line for line in lines if "Firewall Basic" in line.item]
    assert len(firewall) == 1 and firewall[0].idle == firewall[0].full > 200
