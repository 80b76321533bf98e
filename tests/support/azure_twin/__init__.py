"""An in-memory twin of the Azure side, for tests: the stacks' resources (from the offline plan) plus what
pipeline steps create, reached through the scripts' adapter interface, refusing what Azure refuses.

- `model`: the twin's state (pydantic, so a step running in a subprocess can load and save it).
- `from_plan`: a stack's twin from its offline plan (the real Pulumi program under the mock engine).
- `cloud`: the operations, with Azure's refusals (`errors`) and the caller's network location (`caller`).
- `adapter`: the `pipelines.scripts.aml_boundary` Protocols backed by the twin.
- `azure_pipelines`: runs an expanded Azure Pipelines YAML's steps, in order, against the twin.
"""
