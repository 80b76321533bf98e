"""The Azure example's exceptions: one base class, one subclass per condition."""

from __future__ import annotations


class AzureE2EError(Exception):
    """Base class for the example's errors: reported as one message and a non-zero exit code."""


class StackOutputsError(AzureE2EError):
    """Raised when the stack outputs lack a key, or a value breaks its rule (the message names both)."""


class IncompatibleVersionsError(AzureE2EError):
    """Raised when mlflow and azureml-mlflow are not the pair known to work together."""


class SpecInvalidError(AzureE2EError):
    """Raised when a generated Azure ML spec fails the SDK's own loaders: nothing is submitted."""


class TrainingRejectedError(AzureE2EError):
    """Raised when the training pipeline did not complete: the gate rejected the candidate, or a step failed."""


class ReleaseFailedError(AzureE2EError):
    """Raised when the blue/green release did not promote: traffic is back where it was (or a human must look)."""
