"""`newsdesk feeds add|list|remove|import` and `newsdesk refresh`; registered on the main group by cli/main.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.ingest.refresh import FeedOutcome, RefreshReport
    from assistant.pipeline import Newsdesk

F = TypeVar("F", bound=Callable[..., Any])


def _options(func: F) -> F:
    func = click.option("--feeds-file", type=click.Path(dir_okay=False, path_type=Path),
                        envvar="NEWSDESK_FEEDS_FILE", help="OPML feed list (default: corpus/feeds.opml).")(func)
    return click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NEWSDESK_INDEX_DIR",
                        help="Index directory (default: indexes/ in the repository).")(func)


def _json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, envvar="NEWSDESK_JSON",
                        help="Print one JSON object instead of text.")(func)


def _settings(index_dir: Path | None, feeds_file: Path | None) -> Settings:
    from assistant.cli.common import make_settings

    return make_settings(index_dir, feeds_file=feeds_file)


def _desk(index_dir: Path | None, feeds_file: Path | None) -> Newsdesk:
    """The desk whose feed-list operations and refresh the commands call (the Admin tab calls the same)."""
    from assistant.pipeline import Newsdesk

    return Newsdesk(_settings(index_dir, feeds_file))


@contextmanager
def _feed_errors() -> Iterator[None]:
    from assistant.cli.common import UserError, user_errors
    from assistant.sources.feedlist import FeedListError
    from assistant.sources.feeds import FeedError
    from assistant.sources.urlmask import mask_urls_in

    with user_errors():
        try:
            yield
        except (FeedListError, FeedError) as exc:
            raise UserError(mask_urls_in(str(exc))) from exc


@click.group()
def feeds() -> None:
    """Manage the source feeds (an OPML file, corpus/feeds.opml by default)."""


@feeds.command("add")
@click.argument("source")
@click.option("--title", envvar="NEWSDESK_FEED_TITLE", help="Name to show (default: the feed's own title).")
@click.option("--full-text", is_flag=True, envvar="NEWSDESK_FEED_FULL_TEXT",
              help="Fetch each new entry's article page and index its main text.")
@click.option("--category", default="", envvar="NEWSDESK_FEED_CATEGORY", help="OPML folder to file it under.")
@_options
def feeds_add(source: str, title: str | None, full_text: bool, category: str, index_dir: Path | None,
              feeds_file: Path | None) -> None:
    """Add a feed: an http(s) URL or a local feed file (RSS, Atom, RDF or JSON Feed)."""
    from assistant.cli.common import UserError, out
    from assistant.sources.feedlist import FeedSpec, is_remote
    from assistant.sources.feeds import parse_feed
    from assistant.sources.urlmask import mask_url

    desk = _desk(index_dir, feeds_file)
    settings = desk.settings
    with _feed_errors():
        flist = desk.feeds()
        if is_remote(source):
            spec = FeedSpec(url=source.strip(), title=title or "", full_text=full_text, category=category)
        else:
            path = Path(source).expanduser()
            if not path.is_file():
                raise UserError(f"{mask_url(source)} is neither an http(s) URL nor a file")
            parsed = parse_feed(path.read_bytes(), feed_id="check", fallback_title=path.stem,
                                max_chars=settings.feed_entry_max_chars)
            spec = FeedSpec(url=flist.local_form(str(path)), title=title or parsed.title, full_text=full_text,
                            category=category)
        if not desk.add_feed(spec, feed_list=flist):
            out.print(f"already listed: {spec.label} ({spec.feed_id}) in {flist.path}", highlight=False)
            return
    out.print(f"added {spec.label} ({spec.feed_id}) to {flist.path}; run `newsdesk refresh` to read it",
              highlight=False)


@feeds.command("list")
@_options
@_json_option
def feeds_list(index_dir: Path | None, feeds_file: Path | None, as_json: bool) -> None:
    """List the feeds with what the last refresh found."""
    from rich.table import Table

    from assistant.cli.common import out
    from assistant.sources.feedstate import FeedState
    from assistant.sources.urlmask import mask_url, mask_urls_in

    desk = _desk(index_dir, feeds_file)
    with _feed_errors():
        flist = desk.feeds()
    state = FeedState.load(desk.settings.index_dir)
    rows: list[dict[str, Any]] = []
    for spec in flist.feeds:
        memo = state.feeds.get(spec.feed_id)
        # Shown, never the credentials: the URL masked, and the memo's title/error (older ones may name it).
        rows.append({"id": spec.feed_id, "title": mask_urls_in(spec.title or (memo.title if memo else "")),
                     "url": mask_url(spec.url), "full_text": spec.full_text, "category": spec.category,
                     "status": memo.status if memo else "never read",
                     "error": mask_urls_in(memo.error) if memo else "",
                     "checked": memo.checked if memo else None, "entries": len(memo.entries) if memo else 0})
    if as_json:
        click.echo(json.dumps({"feeds_file": str(flist.path), "feeds": rows}, ensure_ascii=False))
        return
    if not rows:
        out.print(f"no feeds in {flist.path}; add one with `newsdesk feeds add URL`", highlight=False)
        return
    table = Table(title=f"{len(rows)} feeds in {flist.path}", title_justify="left")
    for col in ("id", "title", "url", "status", "entries", "checked"):
        table.add_column(col, overflow="fold")
    for r in rows:
        status = r["status"] + (f": {r['error']}" if r["error"] else "") + (" (full text)" if r["full_text"] else "")
        checked = (r["checked"] or "-").replace("T", " ").replace("+00:00", " UTC")
        table.add_row(r["id"], r["title"], r["url"], status, str(r["entries"]), checked)
    out.print(table)


@feeds.command("remove")
@click.argument("target")
@click.option("--purge", is_flag=True, envvar="NEWSDESK_FEED_PURGE",
              help="Also remove the feed's entries from the index (default: the archive keeps them).")
@_options
@click.option("--wait", "wait_seconds", type=float, default=0.0, show_default=True, envvar="NEWSDESK_WRITER_WAIT",
              help="Seconds to wait for another writer to finish before giving up.")
def feeds_remove(target: str, purge: bool, index_dir: Path | None, feeds_file: Path | None,
                 wait_seconds: float) -> None:
    """Remove a feed by URL, file path, feed id or title."""
    from assistant.cli.common import UserError, out
    from assistant.sources.urlmask import mask_url

    desk = _desk(index_dir, feeds_file)
    with _feed_errors():
        flist = desk.feeds()
        gone = desk.remove_feed(target, feed_list=flist)
        if not gone:
            raise UserError(f"no feed in {flist.path} matches {mask_url(target)!r} (a URL, path, feed id or title)")
        for spec in gone:
            out.print(f"removed {spec.label} ({spec.feed_id}) from {flist.path}", highlight=False)
        if purge:
            n = desk.purge_feeds([s.feed_id for s in gone], wait_seconds=wait_seconds)
            out.print(f"removed {n} chunks of its entries from the index", highlight=False)


@feeds.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_options
def feeds_import(opml: Path, index_dir: Path | None, feeds_file: Path | None) -> None:
    """Add every feed of another OPML file (a feed reader's export)."""
    from assistant.cli.common import out
    from assistant.sources.feedlist import FeedList

    with _feed_errors():
        flist = _desk(index_dir, feeds_file).feeds()
        added, skipped = flist.merge(FeedList.load(opml, missing_ok=False))
        if added:
            flist.save()
    out.print(f"imported {len(added)} feeds from {opml} into {flist.path}; {len(skipped)} were already listed",
              highlight=False)


# ---------------------------------------------------------------- refresh


def _progress_line(done: int, total: int, report: RefreshReport | None, failed: int) -> str:
    new = report.total("new") if report else 0
    updated = report.total("updated") if report else 0
    return f"feeds {done}/{total} · new {new} · updated {updated} · failed {failed}"


@click.command()
@click.option("--force", is_flag=True, envvar="NEWSDESK_REFRESH_FORCE",
              help="Ignore ETag/Last-Modified and entry fingerprints: read and compare every entry again "
                   "(unchanged entries still cost no embedding).")
@_options
@click.option("--wait", "wait_seconds", type=float, default=0.0, show_default=True, envvar="NEWSDESK_WRITER_WAIT",
              help="Seconds to wait for another writer to finish before giving up.")
@_json_option
def refresh(force: bool, index_dir: Path | None, feeds_file: Path | None, wait_seconds: float,
            as_json: bool) -> None:
    """Read every feed of the feed list and index new and changed entries."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from assistant.cli.common import err
    from assistant.ingest.refresh import FAILED, RefreshHooks

    desk = _desk(index_dir, feeds_file)
    failed = 0
    with _feed_errors(), Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err,
                                  transient=True, disable=not err.is_terminal) as progress:
        feeds_task = progress.add_task("reading feeds", total=None)
        embed_task = progress.add_task("embedding", total=None, visible=False)
        state: dict[str, Any] = {"done": 0, "total": 0, "report": None}

        def feed_done(outcome: FeedOutcome, done: int, total: int) -> None:
            nonlocal failed
            failed += outcome.status == FAILED
            state.update(done=done, total=total)
            progress.update(feeds_task, completed=done, total=total,
                            description=_progress_line(done, total, None, failed))

        def planned(report: RefreshReport) -> None:
            progress.update(feeds_task, description=_progress_line(state["done"], state["total"], report, failed))

        def embedding(done: int, total: int) -> None:
            progress.update(embed_task, completed=done, total=total or None, visible=bool(total))

        report = desk.refresh(force=force, wait_seconds=wait_seconds,
                              hooks=RefreshHooks(feed_done=feed_done, planned=planned, embedding=embedding))
    for f in report.feeds:
        if f.status == FAILED:
            err.print(f"failed {f.url}: {f.reason}", highlight=False, markup=False)
        for line in f.skipped:
            err.print(f"skipped in {f.title}: {line}", highlight=False, markup=False)
    if as_json:
        click.echo(json.dumps(_report_json(report), ensure_ascii=False))
    else:
        _print_summary(report)
    if report.feeds and len(report.failed) == len(report.feeds):
        sys.exit(1)


def _report_json(report: RefreshReport) -> dict[str, Any]:
    from dataclasses import asdict

    totals = {k: report.total(k) for k in ("entries", "new", "updated", "unchanged", "linked", "excluded")}
    return {"feeds": [asdict(f) for f in report.feeds], "failed": len(report.failed), **totals,
            "embedded": report.embedded, "reused": report.reused, "removed": report.removed,
            "version": report.version, "seconds": round(report.seconds, 2),
            "duplicates": [asdict(d) for d in report.duplicates]}


def _print_summary(report: RefreshReport) -> None:
    from rich import box
    from rich.table import Table

    from assistant.cli.common import out

    table = Table(title="refresh", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("feed", max_width=30, no_wrap=True, overflow="ellipsis")
    table.add_column("status", no_wrap=True)
    for col in ("entries", "new", "updated", "unchanged", "linked"):
        table.add_column(col, justify="right", no_wrap=True)
    notes = []
    for f in report.feeds:
        counts = [f.entries, f.new, f.updated, f.unchanged, f.linked]
        table.add_row(f.title, f.status, *(str(n) if f.status == "ok" else "-" for n in counts))
        note = f.reason or f.warning or (f"{len(f.skipped)} entries skipped (listed above)" if f.skipped else "")
        if note:
            notes.append(f"{f.title}: {note}")
    out.print(table)
    for note in notes:
        out.print(f"  {note}", highlight=False, markup=False)
    statuses = [f.status for f in report.feeds]
    out.print(f"{len(report.feeds)} feeds: {statuses.count('ok')} read, {statuses.count('not modified')} not "
              f"modified, {len(report.failed)} failed; {report.total('entries')} entries: {report.total('new')} new, "
              f"{report.total('updated')} updated, {report.total('unchanged')} unchanged, {report.total('linked')} "
              f"linked to a story from another source", highlight=False)
    out.print(f"embeddings computed: {report.embedded}"
              + (f" -> index version {report.version}" if report.version else " (index unchanged)")
              + f" in {report.seconds:.1f} s", highlight=False)
