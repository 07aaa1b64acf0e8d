"""The one error base. Every error Newsdesk raises on purpose derives from `NewsdeskError`.

`str(error)` is the single line a user sees: the CLI prints it after "error:", the web app shows it in place of
the answer, the API returns it. Anything that is not a `NewsdeskError` is a bug: the entry points log its
traceback to a file and show one line that says where the log is.

    from assistant.errors import NewsdeskError

    try:
        desk.ask(question)
    except NewsdeskError as exc:
        print(f"error: {exc}")

Subclasses keep a standard base too (ValueError for bad input, RuntimeError for failures of a part), so code
that catches those keeps working.
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path


class NewsdeskError(Exception):
    """Base of every deliberate Newsdesk error; the message is one line, fit to show a user."""

    def __str__(self) -> str:
        # One line, whatever the message was built from (feed text, server replies): never a wall of text.
        return " ".join(super().__str__().split())


#: What the entry points show as their one line without logging: our own errors, and the bad values, missing
#: keys and file problems that libraries report with standard types.
EXPECTED: tuple[type[Exception], ...] = (NewsdeskError, LookupError, ValueError, OSError)


def user_message(exc: BaseException) -> str:
    """The one line for an expected error (see EXPECTED): its message; a file problem as "reason: file"."""
    if isinstance(exc, OSError) and not isinstance(exc, NewsdeskError):
        return f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")
    return " ".join(str(exc).split()) or type(exc).__name__


def crash_log_path() -> Path:
    """Where an unexpected error's traceback goes: NEWSDESK_LOG_DIR, else ~/.cache/newsdesk."""
    base = os.environ.get("NEWSDESK_LOG_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "newsdesk")
    return Path(base) / "error.log"


def report_crash(exc: BaseException) -> str:
    """Append the traceback to the crash log; return the one line a user sees."""
    path = crash_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now(timezone.utc).isoformat(timespec='seconds')} {' '.join(sys.argv)}\n")
            fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        where = f"details in {path}"
    except OSError:
        where = "and the log could not be written"
    return f"unexpected error ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); {where}"
