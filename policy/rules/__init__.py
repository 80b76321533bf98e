"""Rule logic shared by the checkov custom checks and the Pulumi policy pack (standard library only)."""
