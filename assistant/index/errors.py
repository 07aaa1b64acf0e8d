"""Index errors. Each carries one line for the user; the CLI prints it, the web app shows it."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def chroma_failures(to_error: Callable[[Exception], IndexUnavailableError]) -> Iterator[None]:
    """The index package's one isolation point around Chroma. A dead server or a broken version folder surfaces
    as errors of unrelated types (chromadb's ChromaError, httpx, sqlite3, OSError, RuntimeError from the Rust
    bindings, HNSW loader errors); each becomes `to_error(exc)`, one IndexUnavailableError line."""
    try:
        yield
    except IndexUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - the one isolation point: Chroma's failures have no common base
        raise to_error(exc) from exc


@contextmanager
def best_effort(what: str, log: logging.Logger, *, level: int = logging.WARNING) -> Iterator[list[Exception]]:
    """Housekeeping that must never fail the operation around it (closing a client, pruning old versions,
    dropping an unfinished one): a failure of any type is logged as one line and noted in the yielded list."""
    failed: list[Exception] = []
    try:
        yield failed
    except Exception as exc:  # noqa: BLE001 - the one best-effort point: cleanup failures have no common base
        failed.append(exc)
        log.log(level, "%s: %s", what, one_line(exc))
