"""Exceptions raised by the pipeline scripts."""


class PipelineScriptError(Exception):
    """Base class for the pipeline scripts' errors."""


class InvalidArgumentError(PipelineScriptError):
    """Raised when a command-line argument is missing, malformed or out of range."""


class ProtectedStackError(PipelineScriptError):
    """Raised when a destructive operation targets a protected Pulumi stack."""


class DeploymentError(PipelineScriptError):
    """Raised when an online or batch deployment step fails (smoke test, health check, provisioning)."""


class TransientAzureError(PipelineScriptError):
    """Raised when an Azure call failed in a way worth retrying (throttling, 5xx, connection reset)."""
