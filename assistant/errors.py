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


class NewsdeskError(Exception):
    """Base of every deliberate Newsdesk error; the message is one line, fit to show a user."""

    def __str__(self) -> str:
        # One line, whatever the message was built from (feed text, server replies): never a wall of text.
        return " ".join(super().__str__().split())
