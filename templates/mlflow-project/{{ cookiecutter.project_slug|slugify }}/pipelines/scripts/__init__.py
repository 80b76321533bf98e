"""Scripts that the Azure Pipelines templates run (`python -m pipelines.scripts.<name>`).

Each module is one argparse CLI. They reach Azure ML only through the Protocols in `aml_boundary`, so tests
fake that boundary and nothing else.
"""
