"""{{ cookiecutter.project_name }}: {{ cookiecutter.description }}

One module per step, each runnable as `python -m {{ cookiecutter.package_name }}.<step>`:
prep -> train -> evaluate -> register, chained by `python -m {{ cookiecutter.package_name }}.pipeline`.
"""

__version__ = "0.1.0"
