"""The tags every taggable resource carries, derived from the stack configuration."""

from infra.config import StackConfig


def standard_tags(config: StackConfig, *, project: str, stack: str) -> dict[str, str]:
    """Tags for ownership, cost reporting and tracing a resource back to its stack."""
    return {
        "workload": config.workload,
        "environment": config.environment,
        "owner": config.owner,
        "cost-center": config.cost_center,
        "managed-by": "pulumi",
        "pulumi-project": project,
        "pulumi-stack": stack,
    }
