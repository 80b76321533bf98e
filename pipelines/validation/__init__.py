"""Offline checks for Azure Pipelines YAML: Microsoft's schema, template binding, dependsOn and house rules.

Run `python -m pipelines.validation [PATH ...]` (default: pipelines/azure-pipelines). Generated projects
can run the same checks on their own pipeline folders.
"""
