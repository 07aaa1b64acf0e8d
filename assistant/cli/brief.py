"""`newsdesk brief`: what is new since the last issue (or in any window), or one issue's summary.

    newsdesk brief                                   # since the latest issue, as of the archive's newest story
    newsdesk brief --since 7d --source "Last Week in AI" --format md
    newsdesk brief --issue "#339"                    # that issue's main stories in order of importance
    newsdesk brief --since 2026-03-01 --until 2026-03-08 --format json
    newsdesk brief --since 1d --email team@example.com   # by e-mail (NEWSDESK_SMTP_*), text + HTML parts
    newsdesk brief --mode openai                     # sentences written by the LLM of NEWSDESK_LLM_*, verified

Registered on the main group by cli/main.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from assistant.cli.common import _date, err, index_option, make_settings, out, user_errors

FORMATS = ("text", "md", "html", "json")


@click.command()
@click.option("--since", default="last-issue", show_default=True, envvar="NEWSDESK_BRIEF_SINCE",
              help="Start of the window: last-issue (the newest issue's date), a date YYYY-MM-DD, or 7d / 2w.")
@click.option("--until", callback=_date, envvar="NEWSDESK_BRIEF_UNTIL",
              help="End of the window (inclusive; default: the as-of date).")
@click.option("--issue", envvar="NEWSDESK_BRIEF_ISSUE",
              help="Summarize one issue instead: an issue id, its number (#339) or latest.")
@click.option("--source", multiple=True, envvar="NEWSDESK_SOURCE",
              help="Only this newsletter or feed (repeatable; case-insensitive).")
@click.option("--section", multiple=True, envvar="NEWSDESK_SECTION", help="Only this section (repeatable).")
@click.option("--as-of", "as_of", callback=_date, envvar="NEWSDESK_AS_OF",
              help="Brief as of this date: nothing later counts (default: today, or the archive's newest story).")
@click.option("--max", "max_items", type=click.IntRange(min=1, max=100), default=10, show_default=True,
              envvar="NEWSDESK_BRIEF_MAX", help="Items in the briefing.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              envvar="NEWSDESK_BRIEF_FORMAT", help="text, markdown, HTML (sanitised) or one JSON object.")
@click.option("--email", "emails", multiple=True, metavar="TO", envvar="NEWSDESK_BRIEF_EMAIL",
              help="Send the briefing to this address instead of printing it (repeatable): one e-mail with a "
                   "plain-text and an HTML part, over the SMTP server of NEWSDESK_SMTP_HOST.")
@click.option("--mode", "answer_mode", type=click.Choice(["extractive", "openai", "ollama"]),
              envvar="NEWSDESK_ANSWER_MODE",
              help="Who writes each item's sentences: extractive (default: quoted from the lead story) or the LLM "
                   "of openai (NEWSDESK_LLM_BASE_URL) / ollama (NEWSDESK_OLLAMA_URL), verified against the item's "
                   "stories; the first NEWSDESK_BRIEF_LLM_ITEMS items only, extractive on any failure.")
@index_option
def brief(since: str, until: date | None, issue: str | None, source: tuple[str, ...], section: tuple[str, ...],
          as_of: date | None, max_items: int, fmt: str, emails: tuple[str, ...], answer_mode: str | None,
          index_dir: Path | None) -> None:
    """A briefing: the window's stories grouped into clusters (one event across sources and issues), ranked by
    salience, each with its lead sentence(s), its sources and whether it continues earlier coverage."""
    from assistant.briefing.render import render
    from assistant.pipeline import Newsdesk

    with user_errors():
        desk = Newsdesk(make_settings(index_dir, answer_mode=answer_mode))
        briefing = desk.brief(since=since, until=until, issue=issue, sources=list(source), sections=list(section),
                              as_of=as_of, max_items=max_items)
        for note in briefing.notes:  # an LLM that failed: the items it could not write stay extractive
            err.print(note, markup=False, highlight=False, soft_wrap=True)
        if emails:
            from assistant.briefing.deliver import send_briefing

            msg = send_briefing(briefing, emails, desk.settings)
            out.print(f"Sent \"{msg['Subject']}\" ({len(briefing.items)} items) to {msg['To']}.", markup=False,
                      highlight=False, soft_wrap=True)
            return
        text = render(briefing, fmt)
    # Plain output: headlines and sentences are untrusted text, never rich markup.
    out.print(text, markup=False, highlight=False, soft_wrap=True)
