"""The web app's one error handler: every UI event, API endpoint and route runs its work inside `shown_errors()`.

An expected error (a `NewsdeskError`, or a library's ValueError/LookupError/OSError: `assistant.errors.EXPECTED`)
becomes its one line; anything else is a bug: its traceback goes to the crash log (`assistant.errors.report_crash`,
the same file the CLI writes) and the line says where. `gr.Error` (raised on purpose, e.g. "sign in first") and
`BaseException`s such as GeneratorExit pass through untouched.

    with shown_errors() as failure:
        html = run_briefing(desk, window, since, until, sources)
    if failure.error is not None:
        return render.notice(failure.message, kind="error")
"""

from __future__ import annotations

from types import TracebackType

from assistant.errors import EXPECTED, report_crash, user_message

LIMIT = 400  # characters of a message shown in the page


class shown_errors:  # noqa: N801 - used like a function: `with shown_errors() as failure`
    """Context manager that turns a failure into `message` (one line) instead of letting it escape."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.message = ""
        self.expected = True

    def __enter__(self) -> shown_errors:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False  # success, or KeyboardInterrupt/GeneratorExit/SystemExit: not ours to hold
        import gradio as gr

        if isinstance(exc, gr.Error):
            return False  # already the one line, raised on purpose
        self.error = exc
        self.expected = isinstance(exc, EXPECTED)
        self.message = user_message(exc)[:LIMIT] if self.expected else report_crash(exc)
        return True
