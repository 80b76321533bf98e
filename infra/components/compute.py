"""Compute: the training clusters and personal compute instances of a workspace."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml


@dataclass(frozen=True, kw_only=True)
class ClusterSpec:
    name: str
    """Required. Cluster name (3-16 characters), unique within the workspace."""
    vm_size: str
    """Required. VM size, e.g. Standard_DS3_v2."""
    max_nodes: int
    """Required. Upper bound of the autoscaler."""
    min_nodes: int = 0
    """Optional. Lower bound of the autoscaler; 0 means an idle cluster costs nothing."""
    idle_seconds: int = 900
    """Optional. Seconds an idle node waits before it is released."""
    low_priority: bool = False
    """Optional. Evictable, cheaper VMs."""

    def __post_init__(self) -> None:
        if not 0 <= self.min_nodes <= self.max_nodes:
            msg = f"ClusterSpec {self.name!r}: min_nodes ({self.min_nodes}) must be 0..max_nodes ({self.max_nodes})"
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class ComputeInstanceSpec:
    name: str
    """Required. Instance name (3-16 characters), unique within the region."""
    user_object_id: str
    """Required. Entra object ID of the only user the instance is assigned to."""
    vm_size: str
    """Required. VM size."""
    idle_minutes: int
    """Required. Minutes of inactivity before the instance shuts itself down."""


@dataclass(frozen=True, kw_only=True)
class ComputeFleetArgs:
    resource_group_name: pulumi.Input[str]
    """Required. Resource group of the workspace."""
    workspace_name: pulumi.Input[str]
    """Required. Workspace the compute belongs to."""
    location: str
    """Required. Azure region."""
    tenant_id: str
    """Required. Tenant of the compute instance users."""
    tags: dict[str, str]
    """Required. Tags for every compute resource."""
    node_public_ip: bool
    """Required. False gives nodes no public IP (private profile; needs the managed network)."""
    clusters: tuple[ClusterSpec, ...]
    """Required. Training clusters, e.g. the CPU cluster and an optional GPU cluster."""
    instances: tuple[ComputeInstanceSpec, ...] = ()
    """Optional. Personal compute instances."""


class ComputeFleet(pulumi.ComponentResource):
    """Clusters and instances with Entra-only access: local auth and SSH off, managed identities on."""

    cluster_principal_ids: dict[str, pulumi.Output[str]]
    """Cluster name -> object ID of its system-assigned identity (for data and registry roles)."""
    cluster_names: list[str]
    """Names of the clusters, in the order given."""
    instance_names: list[str]
    """Names of the compute instances, in the order given."""

    def __init__(self, name: str, args: ComputeFleetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("azure-mlops:azureml:ComputeFleet", name, None, opts)
        self.cluster_principal_ids = {}
        for spec in args.clusters:
            cluster = ml.Compute(
                f"{name}-{spec.name}",
                compute_name=spec.name,
                workspace_name=args.workspace_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
                properties=ml.AmlComputeArgs(
                    compute_type="AmlCompute",
                    disable_local_auth=True,
                    properties=ml.AmlComputePropertiesArgs(
                        vm_size=spec.vm_size,
                        vm_priority="LowPriority" if spec.low_priority else "Dedicated",
                        os_type="Linux",
                        scale_settings=ml.ScaleSettingsArgs(
                            min_node_count=spec.min_nodes,
                            max_node_count=spec.max_nodes,
                            node_idle_time_before_scale_down=f"PT{spec.idle_seconds}S",
                        ),
                        remote_login_port_public_access="Disabled",
                        enable_node_public_ip=args.node_public_ip,
                    ),
                ),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.cluster_principal_ids[spec.name] = cluster.identity.apply(
                lambda identity: identity.principal_id if identity else ""
            )

        for spec in args.instances:
            ml.Compute(
                f"{name}-{spec.name}",
                compute_name=spec.name,
                workspace_name=args.workspace_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                properties=ml.ComputeInstanceArgs(
                    compute_type="ComputeInstance",
                    disable_local_auth=True,
                    properties=ml.ComputeInstancePropertiesArgs(
                        vm_size=spec.vm_size,
                        idle_time_before_shutdown=f"PT{spec.idle_minutes}M",
                        enable_node_public_ip=args.node_public_ip,
                        ssh_settings=ml.ComputeInstanceSshSettingsArgs(ssh_public_access="Disabled"),
                        application_sharing_policy="Personal",
                        compute_instance_authorization_type="personal",
                        personal_compute_instance_settings=ml.PersonalComputeInstanceSettingsArgs(
                            assigned_user=ml.AssignedUserArgs(
                                object_id=spec.user_object_id, tenant_id=args.tenant_id
                            )
                        ),
                    ),
                ),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.cluster_names = [spec.name for spec in args.clusters]
        self.instance_names = [spec.name for spec in args.instances]
        self.register_outputs({"cluster_names": self.cluster_names, "instance_names": self.instance_names})
