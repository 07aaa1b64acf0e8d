"""Answer, sources, archive results and coverage -> markdown/HTML for the web app.

Every piece of issue or feed text is untrusted HTML. It is escaped (html.escape, plus backslash escapes where
markdown would otherwise turn it into links or emphasis), links are only ever http(s), and every HTML fragment
we build goes through nh3 (Rust's ammonia) before Gradio sees it, so a slip in the escaping here still cannot
ship a script, an event handler or a javascript: URL to the browser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import nh3

from assistant.archive.search import ArchiveHit, ArchiveResult
from assistant.archive.timeline import Coverage
from assistant.records import Answer, Citation
from assistant.sources.text import safe_url

ALLOWED_TAGS = {"a", "b", "br", "code", "div", "em", "h3", "h4", "li", "ol", "p", "section", "small", "span",
                "strong", "table", "tbody", "td", "th", "thead", "tr", "ul", "details", "summary", "article",
                "header", "footer", "time", "mark"}
ALLOWED_ATTRIBUTES = {"*": {"class", "id", "title", "data-n", "data-date"}, "a": {"href", "target"},
                      "time": {"datetime"}}
# Escaped in untrusted text: what could start a link, an image, code or raw HTML. Emphasis and list marks are
# left alone: at worst they change how a line looks, and escaping them garbles names like snake_case.
MD_SPECIAL = re.compile(r"([\\`\[\]])")


def esc(text: object) -> str:
    """Plain text -> HTML text."""
    return html.escape("" if text is None else str(text), quote=True)


def md_text(text: str) -> str:
    """Plain text -> markdown that renders as that text: no links, images, code or HTML can come out of it.
    (The chat also turns off LaTeX, so "$5 and $10" stays money.)"""
    return MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def sanitize(fragment: str) -> str:
    return nh3.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def link(url: str | None, label: str, *, cls: str = "") -> str:
    href = safe_url(url)
    klass = f' class="{cls}"' if cls else ""
    if not href:
        return f"<span{klass}>{esc(label)}</span>"
    return f'<a href="{esc(href)}" target="_blank"{klass}>{esc(label)}</a>'


# ---------------------------------------------------------------- chat
def answer_markdown(answer: Answer, *, text: str | None = None) -> str:
    """The answer (or the part streamed so far) as markdown; [n] links to citation n's source."""
    return cited_markdown(answer.answer if text is None else text, {c.n: safe_url(c.url) for c in answer.citations})


def cited_markdown(text: str, urls: dict[int, str | None] | None = None) -> str:
    """Untrusted answer text -> markdown whose only links are its [n] markers, to http(s) sources."""
    urls = urls or {}

    def cite(match: re.Match[str]) -> str:
        n, colon = int(match.group(1)), match.group(2)
        url = urls.get(n)
        if url:
            return f"[\\[{n}\\]]({url} \"source {n}\"){colon}"
        # A bare [n] is plain text, unless a line "[n]: url" would make it a reference link: keep that escaped.
        return match.group(0) if colon else f"[{n}]"

    # md_text turned "[1]" into "\[1\]": back to a link to the source, or a plain marker.
    return re.sub(r"\\\[(\d{1,3})\\\](:?)", cite, md_text(text))


def source_card(c: Citation) -> str:
    when = c.date or "date unknown"
    source = c.source_name or "unknown source"
    return (
        f'<article class="nd-card" id="source-{c.n}" data-n="{c.n}">'
        f'<header><span class="nd-n">[{c.n}]</span> <span class="nd-source">{esc(source)}</span>'
        f' · <span class="nd-issue">{esc(c.issue)}</span>'
        f' · <time datetime="{esc(c.date or "")}">{esc(when)}</time></header>'
        f'<div class="nd-headline"><strong>{link(c.url, c.headline or "(untitled)")}</strong></div>'
        f'<p class="nd-snippet">{esc(c.snippet)}</p>'
        + (f'<footer>{link(c.url, c.url or "", cls="nd-url")}</footer>' if safe_url(c.url) else
           '<footer class="nd-nolink">link withheld: not an http(s) address</footer>' if c.url else
           '<footer class="nd-nolink">no link in the source</footer>')
        + "</article>"
    )


KIND_LABELS = {"first_coverage": "first coverage (from every story that mentions it)",
               "every_issue": "every issue that covered it", "count": "how often it was covered",
               "evolution": "timeline (every story that mentions it, by date)", "briefing": "briefing"}


def sources_panel(answer: Answer | None, *, note: str = "") -> str:
    kind = KIND_LABELS.get(answer.kind) if answer is not None else None
    head = f'<p class="nd-kind">Answered as: {esc(kind)}</p>' if kind else ""
    return head + _sources(answer, note=note) if head else _sources(answer, note=note)


def _sources(answer: Answer | None, *, note: str = "") -> str:
    if answer is None:
        inner = f'<p class="nd-empty">{esc(note or "Sources of the answer appear here.")}</p>'
    elif not answer.citations:
        inner = f'<p class="nd-empty">{esc(note or "No sources: the archive does not answer this.")}</p>'
    else:
        inner = "".join(source_card(c) for c in answer.citations)
    return sanitize(f'<section class="nd-sources">{inner}</section>')


# ---------------------------------------------------------------- archive
def results_table(result: ArchiveResult) -> str:
    if not result.hits:
        return sanitize('<p class="nd-empty">No stories found.</p>')
    if result.exact:
        shown = len(result.hits)
        head = (f"{result.total} {'story mentions' if result.total == 1 else 'stories mention'} "
                f"{_query(result.query, result.terms)}" + (f"; showing {shown}" if shown < result.total else "")
                + f", sorted by {result.sort}.")
    else:
        head = (f"No story mentions {_query(result.query, result.terms)}. "
                f"The closest {len(result.hits)} stories instead, sorted by {result.sort}:")
    if result.filters:
        head += f" Filters: {result.filters}."
    rows = "".join(
        f'<tr data-date="{esc(h.date or "")}"><td class="nd-date">{esc(h.date or "—")}</td>'
        f'<td class="nd-issue">{esc(h.issue)}<br><small>{esc(h.source)}'
        f'{" · " + esc(h.section) if h.section else ""}</small></td>'
        f'<td class="nd-headline">{esc(h.headline)}</td>'
        f'<td class="nd-link">{link(h.url, "open") if safe_url(h.url) else "—"}</td>'
        f'<td class="nd-snippet">{esc(h.snippet)}</td></tr>'
        for h in result.hits)
    return sanitize(
        f'<p class="nd-summary">{esc(head)}</p><div class="nd-table-wrap"><table class="nd-results">'
        "<thead><tr><th>Date</th><th>Issue</th><th>Headline</th><th>Link</th><th>Snippet</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>")


def _query(query: str, terms: list[str]) -> str:
    if len(terms) > 1:
        return f"every word of “{query}”"
    return f"“{query}”"


def _mention(label: str, hit: ArchiveHit | None) -> str:
    if hit is None:
        return f"<li><strong>{esc(label)}:</strong> —</li>"
    return (f"<li><strong>{esc(label)}:</strong> {esc(hit.date)} · {esc(hit.issue)} · "
            f"{link(hit.url, hit.headline)}</li>")


def coverage_summary(cov: Coverage) -> str:
    if cov.total == 0:
        return sanitize(f'<p class="nd-empty">No story mentions {esc(_query(cov.query, cov.terms))}; '
                        "nothing to plot.</p>")
    weeks_with = sum(1 for w in cov.weeks if w.stories)
    parts = [
        f'<p class="nd-summary">{cov.total} {"story" if cov.total == 1 else "stories"} in '
        f'{len(cov.issues)} {"issue" if len(cov.issues) == 1 else "issues"}, '
        f"{weeks_with} of {len(cov.weeks)} weeks"
        + (f"; {cov.undated} undated (not plotted)" if cov.undated else "") + ".</p>",
        '<ul class="nd-mentions">', _mention("First mention", cov.first_mention),
        _mention("Last mention", cov.last_mention), "</ul>",
        '<h4>Issues that covered it</h4><ul class="nd-issues">',
    ]
    for i in cov.issues:
        heads = "; ".join(i.headlines[:3]) + (f" (+{len(i.headlines) - 3} more)" if len(i.headlines) > 3 else "")
        parts.append(f'<li><time datetime="{esc(i.date or "")}">{esc(i.date or "undated")}</time> · '
                     f"<strong>{esc(i.issue)}</strong> ({esc(i.source)}) — {i.stories} "
                     f'{"story" if i.stories == 1 else "stories"}: <span>{esc(heads)}</span></li>')
    parts.append("</ul>")
    return sanitize("".join(parts))


def timeline_frame(cov: Coverage) -> Any:
    import pandas as pd

    # Weeks as labels (not a time axis) so each week is one readable bar; ISO dates sort as they read.
    return pd.DataFrame({"week": [w.week.isoformat() for w in cov.weeks],
                         "stories": [w.stories for w in cov.weeks]})


# ---------------------------------------------------------------- admin
def key_values(rows: Iterable[tuple[str, object]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v if v not in (None, '') else '—')}</td></tr>" for k, v in rows)
    return sanitize(f'<table class="nd-kv"><tbody>{body}</tbody></table>')


def notice(text: str, *, kind: str = "info") -> str:
    return sanitize(f'<p class="nd-notice nd-{esc(kind)}">{esc(text)}</p>')


CSS = """
.nd-sources { display: flex; flex-direction: column; gap: 10px; }
.nd-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
           background: var(--background-fill-secondary); }
.nd-card header { font-size: 0.85em; color: var(--body-text-color-subdued); }
.nd-card .nd-n { font-weight: 700; color: var(--color-accent); }
.nd-card .nd-headline { margin: 4px 0; font-size: 1em; }
.nd-card .nd-snippet { margin: 4px 0; font-size: 0.9em; }
.nd-card footer { font-size: 0.8em; overflow-wrap: anywhere; }
.nd-sources a, .nd-results a, .nd-mentions a { padding: 0; }  /* Gradio pads links in gr.HTML */
.nd-empty { color: var(--body-text-color-subdued); }
.nd-issues { max-height: 420px; overflow: auto; padding-right: 6px; }
.nd-table-wrap { max-height: 560px; overflow: auto; }
.nd-results { width: 100%; border-collapse: collapse; font-size: 0.9em; }
.nd-results th, .nd-results td { border-bottom: 1px solid var(--border-color-primary); padding: 6px;
                                 text-align: left; vertical-align: top; }
.nd-results th { position: sticky; top: 0; background: var(--background-fill-primary); }
.nd-results td.nd-date { white-space: nowrap; }
.nd-results td.nd-issue { min-width: 150px; }
.nd-results td.nd-snippet { min-width: 260px; }
.nd-kv th { text-align: left; padding-right: 16px; font-weight: 600; }
.nd-notice { padding: 8px 12px; border-radius: 6px; background: var(--background-fill-secondary); }
ul.nd-notice { list-style: none; }
.nd-error { border-left: 4px solid #c0392b; }
.nd-ok { border-left: 4px solid #27ae60; }
"""
