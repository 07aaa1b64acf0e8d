"""What every `newsdesk` command shares: consoles, the one-line error, common options, settings, progress."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from assistant.config import Settings
from assistant.errors import NewsdeskError

F = TypeVar("F", bound=Callable[..., Any])
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class UserError(click.ClickException):
    """Printed as one line, never a traceback."""

    def show(self, file: Any = None) -> None:
        err.print(f"[red]error:[/red] {self.message}", highlight=False)


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if not value:
        return None
    from assistant.sources.newsletter import parse_date

    parsed = parse_date(value)
    if parsed is None:
        raise click.BadParameter(f"cannot read {value!r} as a date (try YYYY-MM-DD)")
    return parsed


def index_option(func: F) -> F:
    return click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NEWSDESK_INDEX_DIR",
                        help="Index directory (default: indexes/ in the repository).")(func)


def wait_option(func: F) -> F:
    return click.option("--wait", "wait_seconds", type=float, default=0.0, show_default=True,
                        envvar="NEWSDESK_WRITER_WAIT",
                        help="Seconds to wait for another writer to finish before giving up.")(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, envvar="NEWSDESK_JSON",
                        help="Print one JSON object instead of text.")(func)


def make_settings(index_dir: Path | None = None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if index_dir is not None:
        values["index_dir"] = index_dir
    try:
        return Settings(**values)
    except Exception as exc:  # pydantic's ValidationError lists every bad setting
        raise UserError(f"invalid settings: {exc}") from exc


@contextmanager
def user_errors() -> Iterator[None]:
    """Our own errors (and bad values from libraries) become one clear line and a non-zero exit."""
    try:
        yield
    except (NewsdeskError, LookupError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")) from exc


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


@contextmanager
def embed_progress(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        yield update
