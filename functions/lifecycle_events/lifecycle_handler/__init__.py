"""The lifecycle event handler's logic: typed, pure where it can be, and free of Azure SDK imports."""
