"""The `newsdesk` command. Every option has help text and an environment variable (NEWSDESK_...)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from assistant.cli.brief import brief
from assistant.cli.common import (
    F,
    UserError,
    _date,
    embed_progress,
    err,
    index_option,
    json_option,
    make_settings,
    out,
    user_errors,
    wait_option,
)
from assistant.cli.evaluate import eval_command
from assistant.cli.export import export_onnx
from assistant.cli.feeds import feeds, refresh
from assistant.cli.remote import url_option
from assistant.config import offline_environment
from assistant.errors import report_crash


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
    from assistant.ingest.issues import display_path
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
        # markup=False: a file named "[/x].md" is text, not rich markup.
        err.print(f"skipped {path}: {reason}", highlight=False, markup=False)
    if as_json:
        click.echo(json.dumps({
            "files": report.files, "issues": len(report.issues), "stories": report.stories,
            "chunks": report.chunks, "embedded": report.embedded, "reused": report.reused,
            "unchanged": report.unchanged, "removed": report.removed, "linked": report.linked,
            "version": report.version, "rejected": [{"path": p, "reason": r} for p, r in report.rejected],
            "ingested": [{"path": display_path(i.path), "issue_id": i.issue_id, "stories": len(i.stories)}
                         for i in report.issues],
            "undated": [i.path for i in report.issues if i.date is None],
        }))
    else:
        for issue in report.issues:
            when = issue.date.isoformat() if issue.date else "date unknown (pass --date YYYY-MM-DD)"
            out.print(f"{display_path(issue.title)}: {len(issue.stories)} stories, {when}", highlight=False,
                      markup=False)
        out.print(f"{len(report.issues)} issues, {report.stories} stories, {report.chunks} chunks: "
                  f"{report.embedded} embedded, {report.reused} reused, {report.unchanged} unchanged, "
                  f"{report.removed} removed"
                  + (f", {report.linked} feed entries linked as sources" if report.linked else "")
                  + (f" -> index version {report.version}" if report.version else
                                                 " (nothing changed: no new index version)" if report.issues else ""))
    if not report.issues:
        sys.exit(1)


def _filters(since: date | None, until: date | None, source: tuple[str, ...], section: tuple[str, ...],
             issue: tuple[str, ...]) -> Any:
    from assistant.records import Filters

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
    print_sources(answer)


def stream_answer(events: Any) -> Any:
    """Print an answer stream (assistant/answer/events.py) as it arrives; returns the final Answer."""
    answer = None
    for event in events:
        if event.kind == "status":
            err.print(event.text, style="dim", highlight=False, markup=False)
        elif event.kind == "question":
            err.print(f"searching for: {event.text}", style="dim", highlight=False, markup=False)
        elif event.kind == "delta":
            out.print(event.text, end="", highlight=False, markup=False)
            out.file.flush()
        elif event.kind == "answer":
            answer = event.answer
    out.print()
    if answer is not None:
        print_answer_tail(answer)
    return answer


def print_answer_tail(answer: Any) -> None:
    """What follows a streamed answer's text: its window, the dropped sentences, the sources."""
    if answer.window:
        out.print(f"[dim]window: {answer.window}[/dim]")
    if answer.unsupported_dropped:
        out.print(f"[dim]{answer.unsupported_dropped} unsupported sentence(s) dropped[/dim]")
    print_sources(answer)


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _remote_only(url: str, issue: tuple[str, ...], as_of: date | None = None) -> None:
    """The filters the app's API does not take are refused rather than ignored."""
    if issue:
        raise UserError(f"--issue is not available with --url {url} (the app's API filters by date, source and "
                        "section)")
    if as_of:
        raise UserError(f"--as-of is not available with --url {url} (the app answers as of today)")


def print_sources(answer: Any) -> None:
    if answer.citations:
        out.print("\nSources:", style="bold")
        for c in answer.citations:
            when = c.date or "date unknown"
            link = f" {c.url}" if c.url else ""
            out.print(f"[{c.n}] {c.issue} ({when}) - {c.headline}{link}", highlight=False, markup=False)


def mode_option(func: F) -> F:
    return click.option("--mode", "answer_mode", type=click.Choice(["extractive", "openai", "ollama"]),
                        envvar="NEWSDESK_ANSWER_MODE",
                        help="Answer mode: extractive (default, no LLM), openai (OpenAI-compatible server at "
                             "NEWSDESK_LLM_BASE_URL) or ollama (NEWSDESK_OLLAMA_URL); model: NEWSDESK_LLM_MODEL.")(func)


@main.command()
@click.argument("question")
@filter_options
@index_option
@mode_option
@url_option
@click.option("--kind", "question_kind", type=click.Choice(["auto", "fact", "first_coverage", "every_issue", "count",
                                                           "evolution", "briefing"]),
              default="auto", show_default=True, envvar="NEWSDESK_QUESTION_KIND",
              help="Which tool answers: auto routes by the question (\"when did we first cover X?\" -> "
                   "first_coverage); the JSON output says which one did (\"kind\").")
@json_option
def ask(question: str, since: date | None, until: date | None, source: tuple[str, ...], section: tuple[str, ...],
        issue: tuple[str, ...], as_of: date | None, index_dir: Path | None, answer_mode: str | None,
        url: str | None, question_kind: str, as_json: bool) -> None:
    """Answer QUESTION with a short cited briefing from the archive (streamed as it is verified).

    Editors' questions go to the coverage engine: "When did we first cover X?", "Which issues covered X?",
    "How many times did we cover X?", "How has X evolved?"."""
    filters = _filters(since, until, source, section, issue)
    if url:  # nothing heavy is imported on this path: the app has the model and the index loaded
        from assistant.cli.remote import as_object, ask_json

        _remote_only(url, issue, as_of)
        with user_errors():
            data = ask_json(url, question, _iso(since), _iso(until), list(source), list(section), question_kind)
            answer = as_object(data, "ask", "answer", "citations")
        if as_json:
            click.echo(json.dumps(data, ensure_ascii=False))
        else:
            out.print(answer.answer, highlight=False, markup=False)
            print_answer_tail(answer)
        return
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir, answer_mode=answer_mode), quick_start=True)
    with user_errors():
        if as_json:
            answer = desk.ask(question, filters=filters, as_of=as_of, kind=question_kind)
            click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            stream_answer(desk.ask_stream(question, filters=filters, as_of=as_of, kind=question_kind))


@main.command()
@filter_options
@index_option
@mode_option
def chat(since: date | None, until: date | None, source: tuple[str, ...], section: tuple[str, ...],
         issue: tuple[str, ...], as_of: date | None, index_dir: Path | None, answer_mode: str | None) -> None:
    """Interactive session: ask, then follow up ("and what about AMD?"). /reset forgets, /quit or Ctrl-D ends."""
    from assistant.answer.chat import ChatSession
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir, answer_mode=answer_mode), quick_start=True)
    session = ChatSession(desk)
    filters = _filters(since, until, source, section, issue)
    interactive = sys.stdin.isatty()
    if interactive:
        err.print("[dim]Ask about the archive. Follow-ups keep the topic. /reset forgets, /quit ends.[/dim]")
    while True:
        try:
            line = input("you> " if interactive else "")
        except (EOFError, KeyboardInterrupt):
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/reset":
            session.reset()
            err.print("[dim]history cleared[/dim]")
            continue
        try:
            with user_errors():
                stream_answer(session.stream(line, filters=filters if not session.history else None,
                                             as_of=as_of))
        except UserError as exc:
            exc.show()  # one bad question does not end the session
        out.print()


def archive_filter_options(func: F) -> F:
    """The filters of `ask` without --as-of: the archive commands take dates, not 'recent'."""
    func = filter_options(func)
    func.__click_params__ = [p for p in func.__click_params__ if p.name != "as_of"]  # type: ignore[attr-defined]
    return func


@main.command()
@click.argument("query")
@archive_filter_options
@click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance",
              show_default=True, envvar="NEWSDESK_SORT", help="Order of the results.")
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=20, show_default=True,
              envvar="NEWSDESK_LIMIT", help="Most results to print.")
@index_option
@url_option
@json_option
def search(query: str, since: date | None, until: date | None, source: tuple[str, ...], section: tuple[str, ...],
           issue: tuple[str, ...], sort: str, limit: int, index_dir: Path | None, url: str | None,
           as_json: bool) -> None:
    """Earlier coverage: stories that mention every word of QUERY ("quoted phrases" as written)."""
    filters = _filters(since, until, source, section, issue)  # a bad range fails before anything loads
    if url:
        _remote(url, "search", [query, _iso(since), _iso(until), list(source), list(section), sort, limit],
                issue, as_json, ("query", "hits", "total", "exact"))
        return
    from assistant.cli.archive_output import print_search
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir), quick_start=True)
    with user_errors():
        result = desk.archive(query, filters=filters, sort=sort, limit=limit)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print_search(out, result)


@main.command()
@click.argument("query")
@archive_filter_options
@index_option
@url_option
@json_option
def coverage(query: str, since: date | None, until: date | None, source: tuple[str, ...], section: tuple[str, ...],
             issue: tuple[str, ...], index_dir: Path | None, url: str | None, as_json: bool) -> None:
    """Coverage timeline of QUERY: first and last mention, stories per week, the issues that covered it."""
    filters = _filters(since, until, source, section, issue)  # a bad range fails before anything loads
    if url:
        _remote(url, "coverage", [query, _iso(since), _iso(until), list(source), list(section)], issue, as_json,
                ("query", "total", "weeks", "issues"))
        return
    from assistant.cli.archive_output import print_coverage
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir), quick_start=True)
    with user_errors():
        result = desk.coverage(query, filters=filters)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print_coverage(out, result)


def _remote(url: str, name: str, args: list[Any], issue: tuple[str, ...], as_json: bool,
            keys: tuple[str, ...]) -> None:
    """`search`/`coverage --url`: the app's endpoint answers; printed as the local result would be."""
    from assistant.cli.archive_output import print_coverage, print_search
    from assistant.cli.remote import as_object, call

    _remote_only(url, issue)
    with user_errors():
        data = call(url, name, args)
        result = as_object(data, name, *keys)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        (print_search if name == "search" else print_coverage)(out, result)


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
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@click.option("--all-matching", is_flag=True,
              help="Remove every story that a link matches even when they belong to several issues.")
@index_option
@wait_option
def remove(target: str, dry_run: bool, all_matching: bool, index_dir: Path | None, wait_seconds: float) -> None:
    """Remove an issue (issue id), a story (story id) or a feed entry (its link) from the index.

    An empty key is refused, and so is a link that stories of several issues share, unless --all-matching."""
    from assistant.ingest.issues import check_removal
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir))
    with user_errors():
        check_removal(target, None, all_matching=True)
        if dry_run:
            plan = desk.plan_removal(target)
            by_key = ", ".join(f"{k}: {n}" for k, n in plan.chunks.items() if n) or "nothing"
            out.print(f"would remove {plan.total} chunks ({by_key}) of {plan.stories} stories in "
                      f"{len(plan.issues)} issues: {', '.join(plan.issues[:20])}"
                      + (" ..." if len(plan.issues) > 20 else ""), highlight=False, markup=False)
            return
        n = desk.remove(target, wait_seconds=wait_seconds, all_matching=all_matching)
    out.print(f"removed {n} chunks matching {target}", highlight=False, markup=False)


@main.command()
@click.option("--reembed", is_flag=True, envvar="NEWSDESK_REEMBED",
              help="Embed every chunk again instead of reusing stored embeddings of unchanged text.")
@index_option
@wait_option
@json_option
def rebuild(reembed: bool, index_dir: Path | None, wait_seconds: float, as_json: bool) -> None:
    """Build a fresh index version from the recorded sources, validate it and switch to it atomically.

    The previous version is kept for `newsdesk rollback`. Issues whose source cannot be read again keep their
    chunks from the current version (one line each says why)."""
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(make_settings(index_dir))
    with user_errors(), embed_progress("embedding") as progress:
        report = desk.rebuild(wait_seconds=wait_seconds, progress=progress, reembed=reembed)
    for note in report.notes:
        err.print(f"note: {note}", highlight=False, markup=False)
    for issue_id, reason in report.kept:
        err.print(f"kept {issue_id} as it was: {reason}", highlight=False, markup=False)
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        out.print(f"rebuilt {report.issues} issues, {report.stories} stories, {report.chunks} chunks "
                  f"({report.reread} issues read again, {report.embedded} embedded, {report.reused} reused, "
                  f"{report.carried} chunks kept) -> index version {report.version} "
                  f"(previous {report.parent} kept for `newsdesk rollback`)", highlight=False, markup=False)


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



main.add_command(eval_command)
main.add_command(feeds)
main.add_command(refresh)
main.add_command(brief)
main.add_command(export_onnx)


def run() -> None:
    """The console entry point: `main`, with the one handler for errors nobody expected."""
    try:
        main(standalone_mode=True)
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the one top-level handler: a traceback goes to a log, not the user
        err.print(f"[red]error:[/red] {report_crash(exc)}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    run()
