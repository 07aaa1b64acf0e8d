"""The sources package's one isolation point for third-party parsers fed hostile bytes.

feedparser, defusedxml, json and trafilatura (lxml underneath) can raise nearly anything on input crafted to
break them: KeyError, TypeError, AssertionError, lxml's own errors, RecursionError. None of that is a Newsdesk
bug, and one bad feed or page must cost only itself. Every such call runs inside `hostile_input`, which turns any
failure into one `NewsdeskError` line (our own errors pass through unchanged):

    with hostile_input(FeedError, "could not parse"):
        parsed = feedparser.parse(data)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from assistant.errors import NewsdeskError


class UnreadableInput(NewsdeskError, ValueError):
    """A third-party parser failed on the input it was given."""


@contextmanager
def hostile_input(error: Callable[[str], NewsdeskError] = UnreadableInput,
                  what: str = "could not parse") -> Iterator[None]:
    """Run a parse of untrusted input; any failure becomes `error("<what>: <Type>: <one line>")`."""
    try:
        yield
    except NewsdeskError:
        raise
    except RecursionError as exc:
        raise error(f"{what}: nested too deeply") from exc
    except Exception as exc:  # noqa: BLE001 - the one isolation point: hostile input can make a parser raise anything
        raise error(f"{what}: {type(exc).__name__}: {' '.join(str(exc).split())[:120]}") from exc
