"""Index errors. Each carries one line for the user; the CLI prints it, the web app shows it."""
from __future__ import annotations

from assistant.errors import NewsdeskError


class IndexMissingError(NewsdeskError, RuntimeError):
    """No published index yet (or the version the pointer names is gone)."""


class IndexUnavailableError(NewsdeskError, RuntimeError):
    """The index (or the Chroma server) cannot be reached right now; retrying later may work."""


class IndexWriteError(NewsdeskError, RuntimeError):
    """A write (ingest, remove, rebuild) failed part-way; the current version is unchanged."""


def one_line(exc: BaseException, *, limit: int = 240) -> str:
    """An exception as one short line: tracebacks and multi-line server replies never reach the user."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
