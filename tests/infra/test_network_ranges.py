"""Every committed stack has a VNet range of its own, so any two of them (or a hub) can be peered."""

from __future__ import annotations

import ipaddress
from itertools import combinations

from infra.config import StackConfig
from infra.plan.engine import Plan
from infra.plan.stack_files import available_stacks
from tests.infra.conftest import REPO, STACKS, config_of

Network = ipaddress.IPv4Network


def _ranges(plans: dict[str, Plan]) -> dict[str, tuple[Network, list[Network]]]:
    """Each stack's VNet range from its stack file, with the subnets its plan carves from it (none when public)."""
    ranges = {}
    for stack in STACKS:
        space = ipaddress.IPv4Network(config_of(stack).vnet_address_space)
        subnets = [
            ipaddress.IPv4Network(subnet["addressPrefix"])
            for vnet in plans[stack].of_type("azure-native:network:VirtualNetwork")
            for subnet in vnet.inputs["subnets"]
        ]
        ranges[stack] = (space, subnets)
    return ranges


def test_stack_files_give_each_stack_an_address_space_no_other_overlaps(plans: dict[str, Plan]) -> None:
    """Virtual networks whose address spaces overlap cannot be peered; staging and prod once shared 10.40.0.0/16.

    https://learn.microsoft.com/en-us/azure/virtual-network/virtual-network-peering-overview
    """
    assert set(STACKS) == set(available_stacks(REPO)), "a new stack file must be covered here"
    ranges = _ranges(plans)
    for stack, (space, subnets) in ranges.items():
        vnets = plans[stack].of_type("azure-native:network:VirtualNetwork")
        if config_of(stack).is_private:
            (vnet,) = vnets
            assert vnet.inputs["addressSpace"]["addressPrefixes"] == [str(space)], stack
            assert len(subnets) >= 2 and all(s.subnet_of(space) for s in subnets), stack
        else:
            assert vnets == [], stack
    for (a, (space_a, subnets_a)), (b, (space_b, subnets_b)) in combinations(ranges.items(), 2):
        assert not space_a.overlaps(space_b), f"{a} {space_a} overlaps {b} {space_b}"
        clashes = [(x, y) for x in [*subnets_a, space_a] for y in [*subnets_b, space_b] if x.overlaps(y)]
        assert clashes == [], f"{a} and {b}: {clashes}"


def test_the_default_range_is_left_free_for_a_new_stack() -> None:
    """A stack file without vnetAddressSpace gets 10.40.0.0/16, which no committed stack uses."""
    default = ipaddress.IPv4Network("10.40.0.0/16")
    assert str(default) == StackConfig.model_fields["vnet_address_space"].default
    for stack in STACKS:
        assert not ipaddress.IPv4Network(config_of(stack).vnet_address_space).overlaps(default), stack
