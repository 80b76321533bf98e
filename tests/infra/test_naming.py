"""Every derived name satisfies its Azure rule for any valid input, and is stable."""

from __future__ import annotations

import re
import string
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.errors import InvalidResourceName
from infra.naming import NAME_RULES, ResourceNames, deterministic_suffix
from infra.regions import SUPPORTED_REGIONS


def _identifier(max_length: int) -> st.SearchStrategy[str]:
    """A lower-case letter followed by 1..max_length-1 lower-case letters or digits."""
    rest = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=max_length - 1)
    return st.builds(str.__add__, st.sampled_from(string.ascii_lowercase), rest)


workloads = _identifier(10)
environments = _identifier(8)
regions = st.sampled_from(SUPPORTED_REGIONS)
guids = st.uuids().map(str)
stacks = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=40)

# Each property and the rule it must satisfy.
NAMED_RESOURCES = {
    "resource_group": "resource_group",
    "log_analytics": "log_analytics",
    "application_insights": "application_insights",
    "storage_account": "storage_account",
    "data_lake": "storage_account",
    "key_vault": "key_vault",
    "container_registry": "container_registry",
    "ml_workspace": "ml_workspace",
    "databricks_workspace": "databricks_workspace",
    "databricks_managed_resource_group": "resource_group",
}

# Azure's rules restated independently of infra/naming.py, so a wrong rule there cannot pass.
AZURE_RULES = {
    "storage_account": re.compile(r"[a-z0-9]{3,24}"),
    "key_vault": re.compile(r"(?=.{3,24}$)[A-Za-z](?:[A-Za-z0-9]|-(?!-))*[A-Za-z0-9]"),
    "container_registry": re.compile(r"[A-Za-z0-9]{5,50}"),
    "ml_workspace": re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,32}"),
    "ml_compute": re.compile(r"[A-Za-z][A-Za-z0-9-]{1,14}[A-Za-z0-9]"),
    "resource_group": re.compile(r"[-\w.()]{0,89}[-\w()]"),
    "log_analytics": re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]"),
    "databricks_workspace": re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,63}"),
}


def _names(workload: str, environment: str, region: str, subscription: str, stack: str) -> ResourceNames:
    return ResourceNames.for_stack(
        workload=workload,
        environment=environment,
        location=region,
        subscription_id=subscription,
        project="azure-mlops",
        stack=stack,
    )


def _violations(names: ResourceNames) -> list[str]:
    found = []
    for prop, kind in NAMED_RESOURCES.items():
        name, rule = getattr(names, prop), NAME_RULES[kind]
        if not (rule.pattern.fullmatch(name) and rule.min_length <= len(name) <= rule.max_length):
            found.append(f"{prop}={name!r} breaks NAME_RULES[{kind!r}]")
        if kind in AZURE_RULES and not AZURE_RULES[kind].fullmatch(name):
            found.append(f"{prop}={name!r} breaks Azure's {kind} rule")
    return found


@given(workloads, environments, regions, guids, stacks)
def test_every_name_satisfies_its_azure_rule(workload, environment, region, subscription, stack) -> None:
    violations = _violations(_names(workload, environment, region, subscription, stack))
    assert violations == []


@given(workloads, environments, regions, guids, stacks, guids)
def test_compute_instance_names_fit_and_differ_per_user(
    workload, environment, region, subscription, stack, user
):
    names = _names(workload, environment, region, subscription, stack)
    name, other_user_name = names.compute_instance(user), names.compute_instance(str(uuid.uuid4()))
    fits = AZURE_RULES["ml_compute"].fullmatch(name) is not None
    assert fits
    assert name != other_user_name


@given(workloads, environments, regions, guids, stacks)
def test_names_are_stable_across_runs(workload, environment, region, subscription, stack) -> None:
    first = _names(workload, environment, region, subscription, stack)
    again = _names(workload, environment, region, subscription.upper(), stack)
    same = [getattr(first, p) == getattr(again, p) for p in NAMED_RESOURCES]
    assert all(same)


@given(workloads, environments, regions, guids, stacks, stacks)
def test_globally_unique_names_differ_per_stack(workload, environment, region, subscription, stack, other):
    one, two = (_names(workload, environment, region, subscription, s) for s in (stack, other))
    equal = {
        getattr(one, p) == getattr(two, p)
        for p in ("storage_account", "data_lake", "key_vault", "container_registry")
    }
    assert equal == {stack == other}


@given(workloads, environments, regions, stacks, guids, guids)
def test_globally_unique_names_differ_per_subscription(workload, environment, region, stack, sub_a, sub_b):
    one, two = (_names(workload, environment, region, sub, stack) for sub in (sub_a, sub_b))
    same_name, same_subscription = one.storage_account == two.storage_account, sub_a.lower() == sub_b.lower()
    assert same_name == same_subscription


def test_suffix_is_deterministic_base36() -> None:
    suffix = deterministic_suffix("sub", "azure-mlops", "dev")
    assert suffix == deterministic_suffix("sub", "azure-mlops", "dev")
    assert re.fullmatch(r"[0-9a-z]{6}", suffix)
    assert suffix != deterministic_suffix("sub", "azure-mlops", "prod")


def test_caf_abbreviations_lead_each_name() -> None:
    names = _names("mlops", "dev", "westeurope", "00000000-0000-0000-0000-000000000000", "dev")
    assert names.resource_group == "rg-mlops-dev-we"
    assert names.ml_workspace == "mlw-mlops-dev-we"
    assert names.storage_account.startswith("stmlopsdev")
    assert names.key_vault.startswith("kv-mlops-dev-")
    assert names.container_registry.startswith("crmlopsdev")
    assert names.databricks_workspace == "dbw-mlops-dev-we"
    assert names.databricks_managed_resource_group == "rg-mlops-dev-we-dbw-managed"


def test_long_parts_are_shortened_but_keep_the_suffix() -> None:
    names = _names("abcdefghij", "staging1", "germanywestcentral", "sub", "staging")
    assert len(names.storage_account) == 24
    assert names.storage_account.endswith(names.suffix)
    assert names.key_vault.endswith(names.suffix)


def test_unsupported_region_is_refused() -> None:
    with pytest.raises(InvalidResourceName) as raised:
        _names("mlops", "dev", "moon", "sub", "dev")
    assert "location 'moon'" in str(raised.value)


def test_a_name_breaking_its_rule_is_refused_with_the_rule() -> None:
    with pytest.raises(InvalidResourceName) as raised:
        NAME_RULES["storage_account"].check("storage_account", "Has-Upper")
    assert "3-24 characters, lower-case letters and digits only" in str(raised.value)
