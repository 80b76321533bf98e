"""Azure DevOps logging commands (`##vso[...]`) written to stdout.

See https://learn.microsoft.com/azure/devops/pipelines/scripts/logging-commands. Values are escaped the way
the agent unescapes them, so a value with `;`, `]` or a newline cannot inject a second command.
"""

import sys
from typing import TextIO

# The agent's documented escaping for property values and message bodies.
_ESCAPES = (("%", "%AZP25"), ("\r", "%0D"), ("\n", "%0A"), (";", "%3B"), ("]", "%5D"))


def escape(value: str) -> str:
    """Escape `value` for use inside a logging command."""
    for raw, escaped in _ESCAPES:
        value = value.replace(raw, escaped)
    return value


def set_variable(name: str, value: str, *, is_output: bool = False, stream: TextIO | None = None) -> None:
    """Set a pipeline variable; with `is_output`, later jobs read it as `dependencies.<job>.outputs[...]`."""
    out = stream or sys.stdout
    output_flag = ";isOutput=true" if is_output else ""
    out.write(f"##vso[task.setvariable variable={escape(name)}{output_flag}]{escape(value)}\n")
    out.flush()


def log_issue(kind: str, message: str, *, stream: TextIO | None = None) -> None:
    """Report an `error` or `warning` so it shows on the run summary, not only in the log."""
    out = stream or sys.stdout
    out.write(f"##vso[task.logissue type={kind}]{escape(message)}\n")
    out.flush()
