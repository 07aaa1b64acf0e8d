"""What every `newsdesk` command shares: consoles, the one-line error, common options, settings, progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from assistant.config import Settings
from assistant.errors import EXPECTED, user_message

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
    except ValueError as exc:  # pydantic's ValidationError (a ValueError) lists every bad setting
        raise UserError(f"invalid settings: {exc}") from exc


@contextmanager
def user_errors() -> Iterator[None]:
    """Our own errors (and bad values from libraries) become one clear line and a non-zero exit."""
    try:
        yield
    except EXPECTED as exc:
        raise UserError(user_message(exc)) from exc


@contextmanager
def embed_progress(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        yield update
