"""Audit columns that Azure Table storage always accepts: bounded, free of control characters, valid JSON.

Event fields are free text from outside (subjects, tags, breach messages), and Table storage refuses a write
whose String property is over 64 KiB (UTF-16) or whose entity is over 1 MiB; a refused write would send the
message to the poison queue without an audit record. Every column therefore goes through `text` (or `tags_json`)
here: control characters and unpaired surrogates (which cannot be encoded to UTF-8) are replaced, and values are
cut to a per-column budget, marked with CUT_MARK, so the whole entity stays far below the limits
(Understanding the Table service data model, https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

STRING_LIMIT_BYTES = 64 * 1024
"""Table storage: a String property holds at most 64 KiB, counted in UTF-16."""
ENTITY_LIMIT_BYTES = 1024 * 1024
"""Table storage: an entity, all properties together, holds at most 1 MiB."""
TEXT_UNITS = 1024
"""UTF-16 code units a plain column keeps (names, IDs, subjects; Azure names are far shorter)."""
REASON_UNITS = 4096
"""UTF-16 code units of the Reason and Outcome columns (they quote other values)."""
TAGS_UNITS = 16 * 1024
"""UTF-16 code units of the Tags column (32 KiB): half a String property, so 20 other columns fit beside it."""
CUT_MARK = "…[cut]"

_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""C0/C1 control characters (tab, LF and CR are kept), surrogates (valid only in pairs, which Python holds as one
character, so any left here are unpaired) and the two non-characters."""


def clean(value: object) -> str:
    """`value` as text with every unsafe character replaced by U+FFFD."""
    return _UNSAFE.sub("\ufffd", str(value))


def utf16_units(value: str) -> int:
    """Length in UTF-16 code units: how Table storage sizes a string (2 bytes each)."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def text(value: object, units: int = TEXT_UNITS) -> str:
    """A clean column value of at most `units` UTF-16 code units; a cut value ends with CUT_MARK."""
    cleaned = clean(value)
    if utf16_units(cleaned) <= units:
        return cleaned
    budget = units - len(CUT_MARK)
    kept: list[str] = []
    for char in cleaned:
        budget -= 2 if ord(char) > 0xFFFF else 1
        if budget < 0:
            break
        kept.append(char)
    return "".join(kept) + CUT_MARK


def tags_json(tags: Mapping[str, str], units: int = TAGS_UNITS) -> str:
    """The tags as a JSON object of at most `units` UTF-16 code units; always valid JSON.

    Values (then keys) are shortened until it fits; if even that is too long, tags are kept in key order until
    the budget is spent, and the key CUT_KEY records how many were left out.
    """
    items = sorted((clean(k), clean(v)) for k, v in tags.items())
    whole = _dumps(dict(items))
    if utf16_units(whole) <= units:
        return whole
    for value_units in (1024, 256, 64):
        shortened = {text(k, 256): text(v, value_units) for k, v in items}
        dumped = _dumps(shortened)
        if utf16_units(dumped) <= units:
            return dumped
    kept: dict[str, str] = {}
    for count, (key, value) in enumerate(items):
        candidate = kept | {text(key, 64): text(value, 64)}
        if utf16_units(_dumps(candidate | {CUT_KEY: str(len(items))})) > units:
            kept[CUT_KEY] = f"{len(items) - count} of {len(items)} tags left out"
            return _dumps(kept)
        kept = candidate
    return _dumps(kept)


CUT_KEY = "…cut"
"""The key tags_json adds when it had to leave tags out."""


def _dumps(value: Mapping[str, str]) -> str:
    # ensure_ascii keeps the column pure ASCII (\\uXXXX escapes): nothing a Table or a JSON reader can refuse.
    return json.dumps(value, sort_keys=True, ensure_ascii=True)
