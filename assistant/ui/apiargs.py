"""The API boundary of the public endpoints (/ask, /search, /coverage): every argument's type is checked here,
so a caller that sends a number, a list or an object where text belongs reads our own one-line message
("question must be text, not a number (42)") instead of Python's ("'int' object has no attribute 'split'").

gradio_client and plain HTTP callers send JSON, so the values arrive as str, int, float, bool, None, list or dict.
"""

from __future__ import annotations

from assistant.errors import NewsdeskError
from assistant.ui.filters import FilterInputs

MAX_LIMIT = 1000


class ApiArgumentError(NewsdeskError, ValueError):
    """An API argument of the wrong type or out of range; the message names the argument."""


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def text(value: object, name: str, *, required: bool = False) -> str:
    """A text argument; None counts as empty (optional arguments), anything else that is not a str is refused."""
    if value is None:
        if required:
            raise ApiArgumentError(f"{name} is missing")
        return ""
    if not isinstance(value, str):
        raise ApiArgumentError(f"{name} must be text, not {_kind(value)}")
    if required and not value.strip():
        raise ApiArgumentError(f"{name} is empty")
    return value


def names(value: object, name: str) -> str | list[str]:
    """A source/section filter: one comma-separated string or a list of strings."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ApiArgumentError(f"{name} must be text or a list of texts, not {_kind(value)}")


def whole_number(value: object, name: str, *, low: int = 1, high: int = MAX_LIMIT) -> int:
    """An integer argument, also accepted as digits in a string ("20") or a whole float (20.0)."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    if number is None:
        raise ApiArgumentError(f"{name} must be a whole number, not {_kind(value) if value != '' else 'empty'}")
    if not low <= number <= high:
        raise ApiArgumentError(f"{name} must be between {low} and {high}, not {number}")
    return number


def filter_args(since: object, until: object, source: object, section: object) -> FilterInputs:
    """The four filter arguments every endpoint shares, type-checked (their values are parsed later)."""
    return FilterInputs(text(since, "since"), text(until, "until"), names(source, "source"),
                        names(section, "section"))

