"""The `newsdesk` command. Every option has help text and an environment variable (NEWSDESK_...)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from assistant.config import Settings, offline_environment

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
    """Known failures become one clear line and a non-zero exit."""
    from assistant.embedding import EmbeddingError
    from assistant.index.lock import WriterBusyError
    from assistant.index.store import IndexMissingError, IndexUnavailableError
    from assistant.index.writer import ValidationError
    from assistant.pipeline import QuestionError

    try:
        yield
    except (IndexMissingError, IndexUnavailableError, WriterBusyError, QuestionError, EmbeddingError,
            ValidationError, LookupError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")) from exc


@contextmanager
def embed_progress(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        yield update


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsdesk")
def main() -> None:
    """Newsdesk: ask questions of newsletter issues and source feeds, get cited briefings. Offline."""
    offline_environment()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--date", "issue_date", callback=_date, envvar="NEWSDESK_ISSUE_DATE",
              help="Issue date for files that carry none (YYYY-MM-DD).")
@click.option("--source", "source_name", envvar="NEWSDESK_SOURCE_NAME",
              help="Newsletter name (default: from the title or the folder name).")
@click.option("--if-missing", is_flag=True, envvar="NEWSDESK_IF_MISSING",
              help="Do nothing when an index already exists (used by `make run`).")
@index_option
@wait_option
@json_option
def ingest(paths: tuple[Path, ...], issue_date: date | None, source_name: str | None, if_missing: bool,
           index_dir: Path | None, wait_seconds: float, as_json: bool) -> None:
    """Add or update newsletter issues (files or folders: .md, .txt, .html, .eml).

    Only new or changed stories are embedded; stories that vanished from an issue are removed."""
    from assistant.pipeline import Newsdesk

    settings = make_settings(index_dir)
    desk = Newsdesk(settings)
    if if_missing and desk.store.current():
        out.print(f"index already present at {settings.index_dir} (version {desk.store.current()})")
        return
    if not paths:
        raise UserError("give at least one file or folder to ingest")
    with user_errors(), embed_progress("embedding") as progress:
        report = desk.ingest(list(paths), issue_date=issue_date, source_name=source_name,
                             wait_seconds=wait_seconds, progress=progress)
    for path, reason in report.rejected:
        err.print(f"skipped {path}: {reason}", highlight=False)
    if as_json:
        click.echo(json.dumps({
            "files": report.files, "issues": len(report.issues), "stories": report.stories,
            "chunks": report.chunks, "embedded": report.embedded, "reused": report.reused,
            "unchanged": report.unchanged, "removed": report.removed, "version": report.version,
            "rejected": [{"path": p, "reason": r} for p, r in report.rejected],
            "undated": [i.path for i in report.issues if i.date is None],
        }))
    else:
        for issue in report.issues:
            when = issue.date.isoformat() if issue.date else "date unknown (pass --date YYYY-MM-DD)"
            out.print(f"{issue.title}: {len(issue.stories)} stories, {when}", highlight=False)
        out.print(f"{len(report.issues)} issues, {report.stories} stories, {report.chunks} chunks: "
                  f"{report.embedded} embedded, {report.reused} reused, {report.unchanged} unchanged, "
                  f"{report.removed} removed" + (f" -> index version {report.version}" if report.version else ""))
    if not report.issues:
        sys.exit(1)


def _filters(since: date | None, until: date | None, source: tuple[str, ...], section: tuple[str, ...],
             issue: tuple[str, ...]) -> Any:
    from assistant.models import Filters

    try:
        return Filters(since=since, until=until, sources=list(source), sections=list(section), issues=list(issue))
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def filter_options(func: F) -> F:
    for opt in reversed([
        click.option("--since", callback=_date, envvar="NEWSDESK_SINCE", help="Only stories on or after this date."),
        click.option("--until", callback=_date, envvar="NEWSDESK_UNTIL", help="Only stories on or before this date."),
        click.option("--source", multiple=True, envvar="NEWSDESK_SOURCE",
                     help="Only this newsletter or feed (repeatable)."),
        click.option("--section", multiple=True, envvar="NEWSDESK_SECTION", help="Only this section (repeatable)."),
        click.option("--issue", multiple=True, envvar="NEWSDESK_ISSUE", help="Only this issue id (repeatable)."),
        click.option("--as-of", "as_of", callback=_date, envvar="NEWSDESK_AS_OF",
                     help="Date that 'last week' and 'recent' refer to (default: today)."),
    ]):
        func = opt(func)
    return func


def print_answer(answer: Any) -> None:
    if answer.window:
        out.print(f"[dim]window: {answer.window}[/dim]")
    out.print(answer.answer, highlight=False, markup=False)
    if answer.citations:
        out.print("\nSources:", style="bold")
        for c in answer.citations:
            when = c.date or "date unknown"
            link = f" {c.url}" if c.url else ""
            out.print(f"[{c.n}] {c.issue} ({when}) - {c.headline}{link}", highlight=False, markup=False)


@main.command()
@click.argument("question")
@filter_options
@index_option
@json_option
def ask(question: str, since: date | None, until: date | None, source: tuple[str, ...], section: tuple[str, ...],
        issue: tuple[str, ...], as_of: date | None, index_dir: Path | None, as_json: bool) -> None:
    """Answer QUESTION with a short cited briefing from the archive."""
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir))
    filters = _filters(since, until, source, section, issue)
    with user_errors():
        answer = desk.ask(question, filters=filters, as_of=as_of)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print_answer(answer)


@main.command()
@index_option
@json_option
def stats(index_dir: Path | None, as_json: bool) -> None:
    """Counts of issues, stories and chunks, the index version and the embedding model."""
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir))
    with user_errors():
        data = desk.stats().to_json()
    if as_json:
        click.echo(json.dumps(data))
    else:
        for key, value in data.items():
            out.print(f"{key:>18}: {value}", highlight=False)


@main.command()
@click.argument("target")
@index_option
@wait_option
def remove(target: str, index_dir: Path | None, wait_seconds: float) -> None:
    """Remove an issue (issue id), a story (story id) or a feed entry (its link) from the index."""
    from assistant.index.ingest import remove_target
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir))
    with user_errors():
        n = remove_target(desk.settings, desk.embedder, target, wait_seconds=wait_seconds)
    out.print(f"removed {n} chunks matching {target}")


@main.command()
@index_option
@wait_option
def rollback(index_dir: Path | None, wait_seconds: float) -> None:
    """Switch back to the previous index version."""
    from assistant.index.store import IndexStore

    store = IndexStore(make_settings(index_dir))
    with user_errors():
        version = store.rollback(wait_seconds=wait_seconds)
    out.print(f"current index version is now {version}")


@main.command()
@click.option("--host", envvar="NEWSDESK_HOST", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", envvar="NEWSDESK_PORT", type=int, default=7860, show_default=True, help="Port to bind.")
@index_option
def serve(host: str, port: int, index_dir: Path | None) -> None:
    """Serve the web app (same as `python app.py`)."""
    from assistant.ui.app import launch

    launch(make_settings(index_dir, host=host, port=port))


if __name__ == "__main__":  # pragma: no cover
    main()
