"""The errors Azure returns, as the Azure SDK raises them (azure-core's exception types, Azure's message text).

Sources of the texts: ARM's ResourceNotFound message (https://aka.ms/ARMResourceNotFoundFix, which Azure puts in
the message itself); the Azure ML private link refusal as the service returns it
(https://learn.microsoft.com/en-us/azure/machine-learning/how-to-configure-private-link: with public network
access disabled, a workspace accepts connections only through its private endpoints; the message text is the
one reported in MicrosoftDocs/azure-docs#90426); App Service's access-restriction 403 for a function app's SCM
site (https://learn.microsoft.com/en-us/azure/app-service/overview-access-restrictions).
"""

from __future__ import annotations

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError


def _with_status(error: HttpResponseError, status: int, code: str) -> HttpResponseError:
    # Without an HTTP response azure-core leaves these unset; the SDK's callers read them.
    error.status_code = status
    error.error_code = code  # type: ignore[assignment]
    return error


def not_found(resource_type: str, name: str, resource_group: str | None) -> ResourceNotFoundError:
    """What ARM answers for a resource that does not exist: 404 ResourceNotFound (registries are looked up by name
    alone, so their message names no resource group)."""
    where = f" under resource group '{resource_group}'" if resource_group else ""
    message = (
        f"(ResourceNotFound) The Resource '{resource_type}/{name}'{where} was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    )
    error = ResourceNotFoundError(message=message)
    _with_status(error, 404, "ResourceNotFound")
    return error


def private_link_denied(kind: str) -> HttpResponseError:
    """What Azure ML answers a client outside the VNet when public network access is disabled: 403 UserError."""
    message = f"(UserError) Access to {kind} was denied based on {kind} private link configuration."
    return _with_status(HttpResponseError(message=message), 403, "UserError")


def site_forbidden(name: str) -> HttpResponseError:
    """What App Service answers a client its access restrictions (public access off) do not admit: 403."""
    message = f"(Forbidden) Ip Forbidden: the site {name} has public network access disabled."
    return _with_status(HttpResponseError(message=message), 403, "Forbidden")


def bad_request(message: str) -> HttpResponseError:
    """A request Azure ML validates and refuses: 400 UserError."""
    return _with_status(HttpResponseError(message=f"(UserError) {message}"), 400, "UserError")


def databricks_network_denied(workspace_id: str) -> HttpResponseError:
    """What an Azure Databricks workspace with public network access disabled answers a client outside its private
    endpoints' networks: 403 (https://learn.microsoft.com/azure/databricks/security/network/front-end/front-end-private-connect)."""
    message = f"(Forbidden) Unauthorized network access to workspace: {workspace_id.rsplit('/', 1)[-1]}"
    return _with_status(HttpResponseError(message=message), 403, "Forbidden")


def image_not_found(image: str) -> HttpResponseError:
    """What Container Apps answers a job or app whose image tag the registry does not have: the deployment fails
    before anything runs (https://learn.microsoft.com/azure/container-apps/troubleshoot-deployment-errors)."""
    tag = image.rsplit(":", 1)[-1]
    message = (
        "(InvalidParameterValueInContainerTemplate) The following field(s) are either invalid or missing. Field "
        f"'template.containers.runner.image' is invalid with details: 'Invalid value: \"{image}\": "
        f'MANIFEST_UNKNOWN: manifest tagged by "{tag}" is not found\''
    )
    return _with_status(HttpResponseError(message=message), 400, "InvalidParameterValueInContainerTemplate")


def key_vault_reference_failed(secret_url: str) -> HttpResponseError:
    """What Container Apps answers when a Key Vault reference's secret cannot be read with the given identity, e.g.
    because it does not exist (https://learn.microsoft.com/azure/container-apps/manage-secrets#reference-secret-from-key-vault;
    the text as reported in microsoft/azure-container-apps#1159)."""
    message = (
        "(InvalidParameterValueInContainerTemplate) The following field(s) are either invalid or missing. Field "
        f"'configuration.secrets' is invalid with details: 'Invalid value: \"{secret_url}\": Unable to get value "
        "using Managed identity'"
    )
    return _with_status(HttpResponseError(message=message), 400, "InvalidParameterValueInContainerTemplate")


def registry_firewall_denied(login_server: str) -> HttpResponseError:
    """What a container registry with public network access disabled answers a client outside its private
    endpoints' networks (https://learn.microsoft.com/azure/container-registry/container-registry-private-link)."""
    message = f"denied: client is not allowed access to {login_server}. Refer https://aka.ms/acr/firewall to grant access."
    return _with_status(HttpResponseError(message=message), 403, "DENIED")


def vault_forbidden(vault: str) -> HttpResponseError:
    """What a key vault with public network access disabled answers a client outside its private endpoints'
    networks (https://learn.microsoft.com/azure/key-vault/general/private-link-service)."""
    message = (
        f"(Forbidden) Public network access is disabled and request is not from a trusted service nor via an "
        f"approved private link. Vault: {vault}. Code: ForbiddenByConnection"
    )
    return _with_status(HttpResponseError(message=message), 403, "Forbidden")
