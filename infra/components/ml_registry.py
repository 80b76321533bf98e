"""The Azure ML registry shared by the stacks: one model, trained once in dev, promoted to prod unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import machinelearningservices as ml


@dataclass(frozen=True, kw_only=True)
class MachineLearningRegistryArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the registry."""
    location: str
    """Required. Primary region; the registry's storage and ACR are created there."""
    registry_name: str
    """Required. Registry name (3-33 characters), unique within the tenant's region."""
    public_network_access: bool
    """Required. False disables the public endpoint (private profile: reach it through a private endpoint)."""
    tags: dict[str, str]
    """Required. Tags for the registry."""
    storage_sku: str = "Standard_ZRS"
    """Optional. Replication of the registry's system-created storage account."""
    protect: bool = False
    """Optional. Refuse deletion of the registry (and the models in it) from `pulumi destroy`."""


class MachineLearningRegistry(pulumi.ComponentResource):
    """An Azure ML registry with a system-assigned identity and system-created, private storage and ACR."""

    registry_id: pulumi.Output[str]
    """ARM ID of the registry: scope of the AzureML Registry User grants."""
    registry_name: pulumi.Output[str]
    """Name of the registry, as in azureml://registries/<name>/models/..."""
    storage_id: pulumi.Output[str]
    """ARM ID of the storage account Azure created for the registry (in its managed resource group)."""
    container_registry_id: pulumi.Output[str]
    """ARM ID of the container registry Azure created for the registry (in its managed resource group)."""

    def __init__(
        self, name: str, args: MachineLearningRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azure-mlops:azureml:MachineLearningRegistry", name, None, opts)
        registry = ml.Registry(
            f"{name}-registry",
            registry_name=args.registry_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            public_network_access="Enabled" if args.public_network_access else "Disabled",
            region_details=[
                ml.RegistryRegionArmDetailsArgs(
                    location=args.location,
                    # Premium: the registry's ACR must accept private endpoints and geo-replicate.
                    acr_details=[
                        ml.AcrDetailsArgs(
                            system_created_acr_account=ml.SystemCreatedAcrAccountArgs(
                                acr_account_sku="Premium"
                            )
                        )
                    ],
                    storage_account_details=[
                        ml.StorageAccountDetailsArgs(
                            system_created_storage_account=ml.SystemCreatedStorageAccountArgs(
                                storage_account_type=args.storage_sku,
                                storage_account_hns_enabled=False,
                                allow_blob_public_access=False,
                            )
                        )
                    ],
                )
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        self.registry_id = registry.id
        self.registry_name = registry.name
        self.storage_id = registry.region_details.apply(lambda details: system_created_ids(details)[0])
        self.container_registry_id = registry.region_details.apply(
            lambda details: system_created_ids(details)[1]
        )
        self.register_outputs(
            {
                "registry_id": registry.id,
                "registry_name": registry.name,
                "storage_id": self.storage_id,
                "container_registry_id": self.container_registry_id,
            }
        )


def system_created_ids(region_details: Sequence[Any]) -> tuple[str, str]:
    """(storage account ID, container registry ID) Azure created for a registry, from its primary region's
    details (the registry's own output, or `getRegistry`'s): they live in a managed resource group whose name
    ends in a random GUID, so they cannot be derived from names."""
    region = region_details[0]
    storage = region.storage_account_details[0].system_created_storage_account.arm_resource_id.resource_id
    acr = region.acr_details[0].system_created_acr_account.arm_resource_id.resource_id
    return storage, acr
