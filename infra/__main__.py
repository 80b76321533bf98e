"""The program `pulumi up` runs (Pulumi.yaml: `main: infra/`)."""

import pulumi

from infra.errors import InvalidStackConfig
from infra.program import build, load_stack_config

try:
    stack_config = load_stack_config()
except InvalidStackConfig as err:
    # A RunError prints the message alone, without a traceback: the message already names each key and rule.
    raise pulumi.RunError(str(err)) from err
build(stack_config)
