"""The local end-to-end demo: an MLflow server, a generated project and the MLOps loop, no Azure account."""
