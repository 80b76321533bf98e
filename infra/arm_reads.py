"""Reads of what exists in Azure, made by the program before it declares anything: ARM's "not found" answer.

The program GETs resources another run or another stack may not have created yet (the deployed workspace, the
registry its owner stack creates). An invoke failure arrives as a plain Exception carrying ARM's answer; "not
found" (the resource, its parent or its resource group) means "not there yet", anything else (no permission,
throttling) must be raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_NOT_FOUND = re.compile(r"NotFound|\b404\b")
"""ARM's codes ResourceNotFound, ResourceGroupNotFound, ParentResourceNotFound, or a bare 404 status."""


def is_not_found(error: BaseException) -> bool:
    """True when an invoke failed because the resource (or its parent, or its resource group) does not exist."""
    return bool(_NOT_FOUND.search(str(error)))


def existing(read: Callable[[], T]) -> T | None:
    """`read()`'s answer, or None when ARM says the resource is not there (yet); any other failure is raised."""
    try:
        return read()
    except Exception as err:  # an invoke failure is a plain Exception carrying ARM's answer
        if is_not_found(err):
            return None
        raise
