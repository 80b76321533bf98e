"""The project's exceptions: one base class, one subclass per condition."""


class ProjectError(Exception):
    """Base class for this project's errors: the CLIs report these and exit non-zero."""


class SchemaError(ProjectError):
    """Raised when a dataset breaks its schema; `violations` lists every broken rule, one per line."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__("data does not match the schema:\n  " + "\n  ".join(violations))


class ContractError(ProjectError):
    """Raised when the data contract (contract.yml) is missing or breaks a rule; the message names the field."""


class InputRefusedError(ProjectError):
    """Raised when the model refuses the rows it was asked to score (the message is the model's own)."""


class DataSourceError(ProjectError):
    """Raised when a data source is neither the bundled sample nor a readable CSV/Parquet file or folder."""


class GateRejectedError(ProjectError):
    """Raised when a step is asked to promote a candidate that the gate did not pass."""


class StaleVerdictError(ProjectError):
    """Raised when the champion changed between evaluation and registration: the verdict no longer holds."""


class PayloadFormatError(ProjectError):
    """Raised when a request body is in none of the supported serving formats."""


class SpecError(ProjectError):
    """Raised when an Azure ML YAML spec does not load or refers to something that does not exist."""
