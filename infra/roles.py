"""Built-in Azure role definition IDs used by the stack, as named constants.

IDs are the same in every tenant: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
Each role is the narrowest that lets its holder do the job named beside it.
"""

from enum import StrEnum


class BuiltInRole(StrEnum):
    """Built-in role definition GUIDs."""

    STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    """Read, write and delete blobs: job outputs, workspace artifacts."""
    STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    """Read blobs: data previews."""
    STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR = "69566ab7-960f-475b-8e7c-b3118f30c6bd"
    """Read and write the workspace's notebook file share with identity-based access."""
    KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
    """Manage secrets (not keys, certificates or access): workspace connection secrets."""
    KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
    """Read secret values only: Key Vault references in app settings, a Key Vault-backed Databricks scope."""
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
    """Read a key's metadata and wrap/unwrap with it, nothing else: a customer-managed key's identity."""
    ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    """Pull images: compute running jobs."""
    ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
    """Push and pull images: the workspace's environment image builds."""
    AZUREML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
    """Run jobs, register models, deploy endpoints; cannot create compute or change the workspace."""
    AZUREML_REGISTRY_USER = "1823dd4f-9b8c-4ab6-ab4e-7397a3684615"
    """Read and create assets in an Azure ML registry: share a model into it, deploy a model from it."""
    STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
    """Blobs plus their ACLs: what the Functions host needs on its own storage (leases, keys, code package)."""
    STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
    """Read, insert and update table entities: the lifecycle handler's audit records."""
    STORAGE_QUEUE_DATA_MESSAGE_SENDER = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"
    """Add messages, nothing else: Event Grid delivering lifecycle events into the handler's queue."""
    STORAGE_QUEUE_DATA_READER = "19e7f393-937e-4f77-808e-94535e297925"
    """Read a queue's properties and peek its messages: the queue trigger's length checks (with Message Processor)."""
    STORAGE_QUEUE_DATA_MESSAGE_PROCESSOR = "8a0f0c08-91a1-4084-bc3d-661d67233fed"
    """Receive and delete messages: the queue trigger taking lifecycle events."""
    STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
    """Create a queue and add, read and delete its messages: the Functions host writing the poison queue."""
    MONITORING_CONTRIBUTOR = "749f88d5-cbae-40b8-bcfc-e573ddc772fa"
    """Read monitoring data and edit monitoring settings: diagnostic settings of endpoints, and linking a Log
    Analytics workspace as their destination. No data-plane or resource changes."""
    READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    """View a resource, change nothing: Managed DevOps Pools reads the VNet it joins agents to."""
    NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
    """Manage networks: Managed DevOps Pools joins its agents' NICs to the delegated subnet (join action,
    service association links)."""
    MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
    """Send telemetry with an Entra token (Application Insights with Entra authentication)."""
    AZURE_AI_ENTERPRISE_NETWORK_CONNECTION_APPROVER = "b556d68e-0be0-4f35-a333-ad7ee1ce17ea"
    """Approve private endpoint connections to ACR, storage, Key Vault and workspaces (not Azure ML registries): a
    consumer workspace's managed network reaching the shared registry's storage and ACR (infra/registry_approval.py)."""


def role_definition_id(subscription_id: str, role: BuiltInRole) -> str:
    """The subscription-scoped ARM ID of a built-in role, as role assignments expect it."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role.value}"
