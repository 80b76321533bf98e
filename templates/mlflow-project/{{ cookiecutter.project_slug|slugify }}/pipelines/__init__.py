"""Azure Pipelines definitions and the scripts they call (`pipelines.scripts`)."""
